/**
 * A horizontal bar for a share of a whole (a cost against the largest, spend against a cap). It only helps the
 * eye: the numbers beside it carry the meaning, so it is hidden from assistive technology. Its width is set through
 * Preact's style object (CSSOM), which the console's content security policy allows, unlike a `style` attribute.
 */
export function Bar(props: { fraction: number; tone?: "accent" | "good" | "warn" | "bad" }) {
  const share = Number.isFinite(props.fraction) ? Math.min(1, Math.max(0, props.fraction)) : 0;
  return (
    <span class="bar" aria-hidden="true">
      <span
        class={`bar-fill bar-${props.tone ?? "accent"}`}
        style={{ width: `${(share * 100).toFixed(1)}%` }}
      />
    </span>
  );
}
