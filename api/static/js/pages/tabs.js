// Accessible tabs: click or arrow keys to switch; the choice is kept in the URL hash.
export function setupTabs(list, onShow) {
  const tabs = () => Array.from(list.querySelectorAll('[role="tab"]')).filter((t) => !t.hidden);
  const show = (tab, focus) => {
    tabs().forEach((t) => {
      const selected = t === tab;
      t.setAttribute("aria-selected", selected ? "true" : "false");
      t.tabIndex = selected ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !selected;
    });
    if (focus) tab.focus();
    const name = tab.id.replace(/^tab-/, "");
    history.replaceState(null, "", `#${name}`);
    if (onShow) onShow(name);
  };
  list.addEventListener("click", (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab) show(tab, false);
  });
  list.addEventListener("keydown", (event) => {
    const all = tabs();
    const index = all.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: all.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(all[(moves[event.key] + all.length) % all.length], true);
  });
  const initial = document.getElementById(`tab-${location.hash.slice(1)}`);
  return { show: (name) => show(document.getElementById(`tab-${name}`), false), initial: initial && !initial.hidden ? initial.id.slice(4) : "overview" };
}
