import { PageHeader } from "../components.tsx";

export function EvalsView(_props: { query: URLSearchParams }) {
  return <PageHeader title="EvalsView" subtitle="Not built yet." />;
}
