import { PageHeader } from "../components.tsx";

export function CostsView(_props: { query: URLSearchParams }) {
  return <PageHeader title="CostsView" subtitle="Not built yet." />;
}
