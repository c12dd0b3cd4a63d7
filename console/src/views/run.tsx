import { PageHeader } from "../components.tsx";

export function RunView(_props: { runId: string }) {
  return <PageHeader title="RunView" subtitle="Not built yet." />;
}
