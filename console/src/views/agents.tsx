import { PageHeader } from "../components.tsx";

export function AgentsView(_props: { agent?: string }) {
  return <PageHeader title="AgentsView" subtitle="Not built yet." />;
}
