import { PageHeader } from "../components.tsx";

export function OverviewView(_props: { query: URLSearchParams }) {
  return <PageHeader title="OverviewView" subtitle="Not built yet." />;
}
