import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { callingAgent, toolEnd } from "../../test/support/calling-agent.ts";
import { driveRun } from "../../test/support/drive-run.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { CodeSection } from "../spec/index.ts";
import type { SqlStore } from "../store/index.ts";
import type { Tool, ToolContext } from "../tools/index.ts";
import { bindCodeTools, type CodeResult } from "./index.ts";

// Real sandboxes only: without bubblewrap these tests prove nothing, so they skip — except in CI, which installs it.
const skip =
  !existsSync("/usr/bin/bwrap") && process.env.CI !== "true" ? "bubblewrap is not installed" : false;

const context = (): ToolContext => ({
  runId: "r",
  callId: "c",
  idempotencyKey: "k-1",
  signal: AbortSignal.timeout(60_000),
});

function section(overrides: Record<string, unknown> = {}, tool: Record<string, unknown> = {}) {
  return CodeSection.parse({
    tools: [
      { name: "run_js", description: "Run JavaScript.", language: "javascript", ...tool },
      { name: "run_python", description: "Run Python.", language: "python", ...tool },
    ],
    ...overrides,
  });
}

async function bind(options: { overrides?: Record<string, unknown>; tool?: Record<string, unknown> } = {}) {
  const logged: string[] = [];
  const { tools } = await bindCodeTools({
    specFile: "agent.yaml",
    section: section(options.overrides, options.tool),
    log: (message) => logged.push(message),
  });
  return { tools, logged };
}

const named = (tools: readonly Tool[], name: string) => {
  const tool = tools.find((each) => each.name === name);
  assert.ok(tool, name);
  return tool as Tool<{ code: string; stdin?: string }, CodeResult>;
};

let tools: Tool[];
before(async () => {
  if (skip) return;
  ({ tools } = await bind());
});

const run = (language: "js" | "python", code: string, stdin?: string) =>
  named(tools, `run_${language}`).execute({ code, ...(stdin === undefined ? {} : { stdin }) }, context());

describe("code tools", { skip }, () => {
  test("a program's standard output, standard error and exit code come back, and it reads its input", async () => {
    const js = await run(
      "js",
      `let input = ""; process.stdin.on("data", (chunk) => (input += chunk));
       process.stdin.on("end", () => { console.log(input.toUpperCase()); console.error("warned"); process.exit(3); });`,
      "hello",
    );
    assert.deepEqual(js, {
      exitCode: 3,
      stdout: "HELLO\n",
      stderr: "warned\n",
      timedOut: false,
      limit: null,
      isolation: "bubblewrap",
    });
    const python = await run(
      "python",
      "import sys\nprint(sum(int(line) for line in sys.stdin))",
      "1\n2\n3\n",
    );
    assert.deepEqual(python, {
      exitCode: 0,
      stdout: "6\n",
      stderr: "",
      timedOut: false,
      limit: null,
      isolation: "bubblewrap",
    });
  });

  test("each call has a fresh sandbox, started ahead of it: nothing one call leaves in /tmp is there for the next", async () => {
    const first = await run("python", "import os\nopen('/tmp/left.txt', 'w').write('x')\nprint(os.getpid())");
    const second = await run(
      "python",
      "import os\nprint(os.path.exists('/tmp/left.txt'), sorted(os.listdir('/tmp')))",
    );
    assert.equal(first.exitCode, 0);
    assert.equal(second.stdout, "False ['main.py']\n");
  });

  test("runs on a Node.js binary under a folder others may not enter (a checkout in a mktemp folder, Node under /root)", {
    skip: process.getuid?.() === 0 ? false : "only root starts the sandbox as another user",
  }, async () => {
    const closed = mkdtempSync(join(tmpdir(), "keel-closed-"));
    try {
      chmodSync(closed, 0o700);
      const node = join(closed, "node");
      copyFileSync(realpathSync(process.execPath), node);
      const onClosedNode = await bindCodeTools({
        specFile: "agent.yaml",
        section: section(),
        programs: { node },
        log: () => undefined,
      });
      try {
        const result = await named(onClosedNode.tools, "run_js").execute(
          { code: "console.log(6 * 7)" },
          context(),
        );
        assert.equal(result.stdout, "42\n");
        assert.equal(result.isolation, "bubblewrap");
      } finally {
        await onClosedNode.close();
      }
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });

  test("a syntax error is a result with the runtime's message, not a failed call", async () => {
    const python = await run("python", "def broken(:\n  pass");
    assert.equal(python.exitCode, 1);
    assert.equal(python.limit, null);
    assert.match(python.stderr, /SyntaxError/);
    const js = await run("js", "const = 1;");
    assert.equal(js.exitCode, 1);
    assert.match(js.stderr, /SyntaxError/);
  });

  describe("escape attempts", () => {
    let hostDir: string;
    let secretFile: string;
    let listener: Server;
    let port: number;
    let connections = 0;
    before(async () => {
      // A file only the host has, in a place Keel's user can read: the sandbox must not see it.
      hostDir = mkdtempSync(join(homedir(), ".keel-sandbox-test-"));
      secretFile = join(hostDir, "secret.txt");
      writeFileSync(secretFile, "host secret");
      listener = createServer((socket) => {
        connections += 1;
        socket.end("hello from the host");
      });
      await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
      port = (listener.address() as { port: number }).port;
    });
    after(() => {
      rmSync(hostDir, { recursive: true, force: true });
      listener.close();
    });

    test("the host's files are not there: a file under the home folder, /etc/shadow, Keel's own package.json", async () => {
      const paths = [secretFile, "/etc/shadow", "/etc/passwd", join(process.cwd(), "package.json")];
      const python = await run(
        "python",
        `import json, sys\nfor path in json.loads(sys.stdin.read()):\n  try:\n    print(path, open(path).read()[:20])\n  except OSError as error:\n    print(path, type(error).__name__)`,
        JSON.stringify(paths),
      );
      assert.deepEqual(
        python.stdout.trim().split("\n"),
        paths.map((path) => `${path} FileNotFoundError`),
      );
      const js = await run(
        "js",
        `const fs = require("node:fs");
         for (const path of JSON.parse(fs.readFileSync(0, "utf8"))) {
           try { console.log(path, fs.readFileSync(path, "utf8").slice(0, 20)); } catch (error) { console.log(path, error.code); }
         }
         console.log(fs.readdirSync("/").sort().join(" "));`,
        JSON.stringify(paths),
      );
      assert.deepEqual(js.stdout.trim().split("\n"), [
        ...paths.map((path) => `${path} ENOENT`),
        "bin dev lib lib64 opt proc sbin tmp usr",
      ]);
    });

    test("no network: a connection to a server listening on the host's loopback fails and never arrives", async () => {
      const python = await run(
        "python",
        `import socket\ntry:\n  socket.create_connection(("127.0.0.1", ${port}), timeout=2)\n  print("connected")\nexcept OSError as error:\n  print(type(error).__name__)\ntry:\n  socket.create_connection(("1.1.1.1", 53), timeout=2)\n  print("connected")\nexcept OSError as error:\n  print(type(error).__name__)`,
      );
      assert.deepEqual(python.stdout.trim().split("\n"), ["ConnectionRefusedError", "OSError"]);
      const js = await run(
        "js",
        `const net = require("node:net");
         const socket = net.connect(${port}, "127.0.0.1");
         socket.on("connect", () => console.log("connected"));
         socket.on("error", (error) => console.log(error.code));
         console.log(Object.keys(require("node:os").networkInterfaces()).join(" "));`,
      );
      assert.deepEqual(js.stdout.trim().split("\n"), ["lo", "ECONNREFUSED"]);
      assert.equal(connections, 0);
    });

    test("a fork bomb is stopped at the process limit", async () => {
      const python = await run(
        "python",
        "import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass",
      );
      assert.equal(python.limit, "processes");
      assert.equal(python.exitCode, null);
      const js = await run(
        "js",
        `const { spawn } = require("node:child_process");
         for (;;) { try { spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]); } catch {} }`,
      );
      // Each child is a whole Node.js runtime (about 40 MB and several threads), so the tree may reach the memory
      // limit before the task limit, depending on how fast the children start: either stops it.
      assert.ok(js.limit === "processes" || js.limit === "memory", `stopped at ${js.limit}`);
      assert.equal(js.exitCode, null);
    });

    test("a memory bomb is stopped at the memory limit: Python's, a JavaScript heap and JavaScript buffers outside it", async () => {
      const { tools: limited } = await bind({ tool: { memory: "128MiB", timeout: "20s", cpuTime: "10s" } });
      const run = (language: "js" | "python", code: string) =>
        named(limited, `run_${language}`).execute({ code }, context());
      const python = await run("python", "hoard = []\nwhile True:\n  hoard.append(bytearray(10**7))");
      assert.equal(python.limit, "memory");
      const heap = await run("js", "const hoard = []; for (;;) hoard.push(new Array(1e6).fill({ x: 1 }));");
      assert.equal(heap.limit, "memory");
      const buffers = await run("js", "const hoard = []; for (;;) hoard.push(Buffer.alloc(1e7, 1));");
      assert.equal(buffers.limit, "memory");
      assert.equal(buffers.exitCode, null);
    });

    test("writes outside /tmp fail, and /tmp holds no more than its size", async () => {
      const targets = ["/escape.txt", "/usr/escape.txt", "/opt/keel/node", "/dev/shm/escape.txt", secretFile];
      const python = await run(
        "python",
        `import json, sys\nfor path in json.loads(sys.stdin.read()):\n  try:\n    open(path, "w").write("x")\n    print(path, "written")\n  except OSError as error:\n    print(path, error.strerror)\nopen("/tmp/mine.txt", "w").write("ok")\nprint(open("/tmp/mine.txt").read())\ntry:\n  open("/tmp/big", "wb").write(b"x" * (32 * 1024 * 1024))\nexcept OSError as error:\n  print("big", error.strerror)`,
        JSON.stringify(targets),
      );
      const lines = python.stdout.trim().split("\n");
      for (const [index, path] of targets.entries())
        assert.match(
          lines[index]!,
          new RegExp(`^${path} (Read-only file system|No such file or directory)$`),
        );
      assert.equal(lines[targets.length], "ok");
      assert.match(lines[targets.length + 1]!, /^big (No space left on device|File too large)$/);
      assert.equal(readFileSync(secretFile, "utf8"), "host secret");
      assert.equal(existsSync("/escape.txt"), false);
    });

    test("Keel's environment is not there", async () => {
      process.env.KEEL_SANDBOX_MARKER = "marker-8d1e";
      try {
        const python = await run("python", "import os\nprint(sorted(os.environ))");
        assert.equal(python.stdout.trim(), "['HOME', 'LANG', 'PATH', 'PWD']");
        const js = await run("js", "console.log(JSON.stringify(process.env))");
        assert.doesNotMatch(js.stdout, /marker-8d1e|KEEL_/);
        const procEnviron = await run(
          "python",
          "import os\nfor pid in os.listdir('/proc'):\n  if pid.isdigit():\n    print(open(f'/proc/{pid}/environ', 'rb').read())",
        );
        assert.doesNotMatch(procEnviron.stdout, /marker-8d1e|KEEL_/);
      } finally {
        delete process.env.KEEL_SANDBOX_MARKER;
      }
    });

    test("a busy loop is stopped at its CPU time, a sleeping program at its wall time", async () => {
      const { tools: limited } = await bind({ tool: { cpuTime: "1s", timeout: "3s" } });
      const busy = await named(limited, "run_python").execute({ code: "while True:\n  pass" }, context());
      assert.equal(busy.limit, "cpu-time");
      assert.equal(busy.timedOut, false);
      const spinning = await named(limited, "run_js").execute({ code: "for (;;) {}" }, context());
      assert.equal(spinning.limit, "cpu-time");
      const started = performance.now();
      const sleeping = await named(limited, "run_python").execute(
        { code: "import time\ntime.sleep(60)" },
        context(),
      );
      assert.equal(sleeping.limit, "wall-time");
      assert.equal(sleeping.timedOut, true);
      assert.ok(performance.now() - started < 10_000);
    });

    test("an output flood is cut at its size and stopped", async () => {
      const python = await run("python", "while True:\n  print('x' * 1000)");
      assert.equal(python.limit, "output");
      assert.equal(python.stdout.length, 64 * 1024);
      // Written synchronously: Node.js queues process.stderr's writes to a full pipe in memory instead.
      const js = await run(
        "js",
        "const fs = require('node:fs'); for (;;) fs.writeSync(2, 'y'.repeat(1000));",
      );
      assert.equal(js.limit, "output");
      assert.equal(js.stderr.length, 64 * 1024);
    });
  });
});

for (const backend of testStores()) {
  describe(`code tools in a governed run on ${backend.name}`, { skip }, () => {
    let store: SqlStore;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    test("the model's call and the sandbox's result are journaled", async () => {
      const code = "print(6 * 7)";
      const { events } = await driveRun({
        store,
        agent: callingAgent(tools, "run_python", { code }),
        input: "what is six times seven?",
      });
      const proposal = events.find((event) => event.type === "tool-call-propose");
      assert.ok(proposal?.type === "tool-call-propose");
      assert.deepEqual(proposal.payload.arguments, { code });
      const end = toolEnd(events);
      assert.equal(end.outcome, "ok");
      assert.deepEqual(end.result, {
        exitCode: 0,
        stdout: "42\n",
        stderr: "",
        timedOut: false,
        limit: null,
        isolation: "bubblewrap",
      });
    });

    test("governance applies: a code tool the agent is not allowed is denied and nothing runs", async () => {
      const agent = callingAgent(tools, "run_python", { code: "print('ran')" });
      const { events } = await driveRun({
        store,
        agent,
        input: "run it",
        governor: await testGovernor([agent], {
          governance: { allowedTools: ["run_js"], decisionAuthority: { autonomous: ["run_js"] } },
        }),
      });
      const decision = events.find(
        (event) => event.type === "policy-decision" && event.payload.callId === "c1",
      );
      assert.ok(decision?.type === "policy-decision");
      assert.equal(decision.payload.target, "run_python");
      assert.equal(decision.payload.decision, "deny");
      assert.equal(
        events.some((event) => event.type === "tool-call-start"),
        false,
      );
    });

    test("fails closed: where no sandbox can be made, a call is refused as sandbox_unavailable and says why", async () => {
      const logged: string[] = [];
      const { tools: refusing } = await bindCodeTools({
        specFile: "agent.yaml",
        section: section(),
        programs: { bwrap: "/nonexistent/bwrap" },
        log: (message) => logged.push(message),
      });
      assert.match(logged.join("\n"), /run_js will refuse every call \(sandbox_unavailable\)/);
      const end = toolEnd(
        (
          await driveRun({
            store,
            agent: callingAgent(refusing, "run_python", { code: "print('ran')" }),
            input: "run it",
          })
        ).events,
      );
      assert.equal(end.outcome, "error");
      assert.equal(end.error?.code, "sandbox_unavailable");
      assert.match(String(end.error?.message), /no sandbox can be made on this host .*\/nonexistent\/bwrap/);
    });

    test("an explicit opt-out runs the code unisolated, logs it at startup and marks the journaled result", async () => {
      const logged: string[] = [];
      const { tools: unisolated } = await bindCodeTools({
        specFile: "agent.yaml",
        section: section({ sandbox: "unsafe-allow-unisolated" }),
        programs: { bwrap: "/nonexistent/bwrap" },
        log: (message) => logged.push(message),
      });
      assert.match(logged.join("\n"), /UNSAFE: .*run_python will run python WITHOUT ISOLATION/);
      const end = toolEnd(
        (
          await driveRun({
            store,
            agent: callingAgent(unisolated, "run_python", { code: "import os\nprint(sorted(os.environ))" }),
            input: "run it",
          })
        ).events,
      );
      assert.equal(end.outcome, "ok");
      const result = end.result as CodeResult;
      assert.equal(result.isolation, "none");
      assert.equal(result.stdout.trim(), "['HOME', 'LANG', 'PATH']");
    });
  });
}
