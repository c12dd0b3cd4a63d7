/**
 * The request a person sends to approve a held call through the API in development mode, where the approver is
 * named by headers (`POST /v1/approvals/{id}/decision`): bound to the arguments' hash they saw.
 */
export function approvalRequest(options: {
  argumentsHash: string;
  role: string;
  subject?: string;
}): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-keel-subject": options.subject ?? "lee@example.com",
      "x-keel-roles": options.role,
    },
    body: JSON.stringify({ decision: "approve", argumentsHash: options.argumentsHash }),
  };
}
