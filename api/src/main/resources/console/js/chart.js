// Line charts of training metrics, drawn by uPlot (from its WebJar). A chart grows point by point as
// events arrive; `data-points` on its figure tells tests (and curious users) how many it holds.
import uPlot from 'uplot';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** A chart of `series` (label names) against the training step, appended to `parent` as figure `id`. */
export function metricChart(parent, id, title, series) {
  const figure = document.createElement('figure');
  figure.id = id;
  figure.className = 'chart';
  figure.dataset.points = '0';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  figure.append(caption);
  parent.append(figure);
  const data = [[], ...series.map(() => [])];
  // the figure's content box (its padding is .6rem each side): the plot follows it as the layout changes
  const width = () => Math.max(240, figure.clientWidth - 24);
  const plot = new uPlot({
    width: width(),
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: 'step' }, {}],
    series: [{ label: 'step' }, ...series.map((label, i) => ({ label, stroke: COLORS[i], width: 2, spanGaps: true }))],
  }, data, figure);
  const resizing = new ResizeObserver(() => plot.setSize({ width: width(), height: 220 }));
  resizing.observe(figure);
  return {
    /** Adds the values of one step (null where a series has none at it). */
    add(step, values) {
      let at = data[0].indexOf(step);
      if (at < 0) {
        data[0].push(step);
        data.slice(1).forEach((s) => s.push(null));
        at = data[0].length - 1;
      }
      values.forEach((v, i) => {
        if (v !== null && v !== undefined) {
          data[i + 1][at] = v;
        }
      });
      plot.setData(data);
      figure.dataset.points = String(data[0].length);
    },
    destroy() {
      resizing.disconnect();
      plot.destroy();
    },
  };
}
