import { PageHeader } from "../components.tsx";

export function ApprovalsView(_props: { query: URLSearchParams; approvalId?: string }) {
  return <PageHeader title="ApprovalsView" subtitle="Not built yet." />;
}
