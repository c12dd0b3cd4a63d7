/** A time range a view offers, as its link writes it (`?range=24h`) and as the select shows it. */
export type RangeChoice = { value: string; label: string };

/**
 * The time range and agent selects the overview and costs views share. Choosing one navigates (the view reads
 * both from its link); an agent named in the link but not served now stays selectable, so the link still reads.
 */
export function RangeAndAgentFilters(props: {
  idPrefix: string;
  label?: string;
  ranges: readonly RangeChoice[];
  range: string;
  agent: string;
  /** The agents to offer; absent while they load. */
  agents: readonly { name: string }[] | undefined;
  choose: (fields: { range?: string; agent?: string }) => void;
}) {
  const { agent, agents } = props;
  return (
    <form class="filters" aria-label={props.label} onSubmit={(event) => event.preventDefault()}>
      <div class="field">
        <label for={`${props.idPrefix}-range`}>Time range</label>
        <select
          id={`${props.idPrefix}-range`}
          value={props.range}
          onChange={(event) => props.choose({ range: event.currentTarget.value })}
        >
          {props.ranges.map((item) => (
            <option key={item.value} value={item.value}>
              {item.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={`${props.idPrefix}-agent`}>Agent</label>
        <select
          id={`${props.idPrefix}-agent`}
          value={agent}
          onChange={(event) => props.choose({ agent: event.currentTarget.value })}
        >
          <option value="">All agents</option>
          {(agents ?? []).map((item) => (
            <option key={item.name} value={item.name}>
              {item.name}
            </option>
          ))}
          {agent !== "" && !agents?.some((item) => item.name === agent) ? (
            <option value={agent}>{agent}</option>
          ) : null}
        </select>
      </div>
    </form>
  );
}
