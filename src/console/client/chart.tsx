import { useEffect, useRef } from 'preact/hooks';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

// only what the console draws, so the bundle stays small
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

/** A Chart.js chart on a canvas, redrawn when its configuration changes. */
export function ChartView(props: { readonly config: ChartConfiguration; readonly label: string; readonly testId: string; readonly height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    if (canvas.current === null) return;
    if (chart.current === null) {
      chart.current = new Chart(canvas.current, { ...props.config, options: { ...props.config.options, animation: false, maintainAspectRatio: false } });
    } else {
      chart.current.data = props.config.data;
      chart.current.options = { ...props.config.options, animation: false, maintainAspectRatio: false };
      chart.current.update();
    }
  }, [props.config]);
  useEffect(() => () => chart.current?.destroy(), []);
  // what the chart was given, summed: lets a test see that a chart drew the figures it should
  const total = props.config.data.datasets.reduce((n, d) => n + (d.data as unknown[]).reduce<number>((m, v) => m + (typeof v === 'number' ? v : 0), 0), 0);
  return (
    <div class="chart" style={{ height: `${props.height ?? 220}px` }}>
      <canvas ref={canvas} role="img" aria-label={props.label} data-testid={props.testId} data-total={total} />
    </div>
  );
}

export const ACTION_COLOURS = { allow: '#4c9a6a', warn: '#e0a526', cool_off: '#d9722b', block: '#c0392b' } as const;
