/** Present an amount of integer cents as a decimal string with two places ("96.00"), the shop's money format. */
export function formatCents(cents: number): string {
  return (cents / 100).toFixed(2);
}
