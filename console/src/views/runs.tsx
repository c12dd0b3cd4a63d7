import { PageHeader } from "../components.tsx";

export function RunsView(_props: { query: URLSearchParams }) {
  return <PageHeader title="RunsView" subtitle="Not built yet." />;
}
