'use client';
/**
 * The latent map drawn with WebGL: every point is one GL point from two GPU buffers (positions as
 * float pairs, colours as bytes), so a million points draw in one call and pan/zoom only change two
 * uniforms. Hover finds the nearest point through a grid on the CPU (map-view.ts) and shows its
 * thumbnail; a click (not the end of a drag) opens the image. From the keyboard the map is one
 * focusable control: arrows pan, + and − zoom, 0 refits, and the point nearest the centre is the
 * one shown (and announced), Enter opens it. Plain WebGL, no library: regl
 * compiles its draw commands with `Function`, which the app's Content-Security-Policy forbids, and
 * deck.gl was 10–30× slower on a software GPU (docs/sizing.md).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MapColumns } from '@/lib/services/map-format';
import { buildGrid, colorPoints, fitView, nearestPoint, panBy, toData, toPixel, zoomAt, type Size, type View } from './map-view';

const VERTEX = `
attribute vec2 position;
attribute vec3 color;
uniform vec2 center;
uniform vec2 scale;
uniform float size;
varying vec3 vColor;
void main() {
  gl_Position = vec4((position - center) * scale, 0.0, 1.0);
  gl_PointSize = size;
  vColor = color;
}`;
const FRAGMENT = `
precision mediump float;
varying vec3 vColor;
void main() { gl_FragColor = vec4(vColor, 1.0); }`;

/** Hover and click reach the nearest point within this many CSS pixels (a sparse map stays easy to use). */
const PICK_RADIUS = 40;
/** One arrow key pans the view by this share of the canvas. */
const KEY_PAN = 0.1;
/** One + or − zooms by this factor. */
const KEY_ZOOM = 1.5;

interface Gpu {
  gl: WebGLRenderingContext;
  program: WebGLProgram;
  position: WebGLBuffer;
  color: WebGLBuffer;
  /** The scale of the fitted view: points grow as the view zooms in past it. */
  fitScale: number;
}

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader {
  const shader = gl.createShader(type)!;
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(shader) ?? 'failed'}`);
  return shader;
}

function setUp(canvas: HTMLCanvasElement): Gpu | null {
  const gl = (canvas.getContext('webgl2', { antialias: false }) ??
    canvas.getContext('webgl', { antialias: false })) as WebGLRenderingContext | null;
  if (!gl) return null;
  const program = gl.createProgram()!;
  gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(program) ?? 'failed'}`);
  return { gl, program, position: gl.createBuffer()!, color: gl.createBuffer()!, fitScale: 1 };
}

function draw(gpu: Gpu, n: number, view: View, size: Size, ratio: number) {
  const { gl, program } = gpu;
  gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
  gl.clearColor(1, 1, 1, 0);
  gl.clear(gl.COLOR_BUFFER_BIT);
  gl.useProgram(program);
  gl.uniform2f(gl.getUniformLocation(program, 'center'), view.cx, view.cy);
  gl.uniform2f(gl.getUniformLocation(program, 'scale'), (2 * view.scale) / size.width, (2 * view.scale) / size.height);
  // Small points when many share the canvas; bigger as the view zooms in.
  const base = n > 100_000 ? 1.5 : n > 5_000 ? 2.5 : 5;
  gl.uniform1f(gl.getUniformLocation(program, 'size'), Math.min(12, base * Math.max(1, Math.log2(view.scale / gpu.fitScale) + 1)) * ratio);
  gl.drawArrays(gl.POINTS, 0, n);
}

export type MapColorBy = 'cluster' | 'label';

/** The map: points coloured by cluster or label; wheel zooms, drag pans, double-click refits, hover shows the image, click opens it. */
export function LatentMap({ map, colorBy }: { map: MapColumns; colorBy: MapColorBy }) {
  const wrapper = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const gpu = useRef<Gpu | null>(null);
  const view = useRef<View | null>(null);
  const frame = useRef(0);
  const [hover, setHover] = useState<{ index: number; x: number; y: number } | null>(null);
  /** What the keyboard cursor (the centre) reaches, for screen readers. */
  const [announced, setAnnounced] = useState('');
  const [failed, setFailed] = useState<string | null>(null);
  const n = map.ids.length;
  const grid = useMemo(() => buildGrid(map.xy), [map]);
  const colors = useMemo(() => colorPoints(map, colorBy), [map, colorBy]);

  const size = (): Size => ({ width: canvas.current?.clientWidth ?? 1, height: canvas.current?.clientHeight ?? 1 });
  const redraw = () => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const g = gpu.current;
      const c = canvas.current;
      if (!g || !c || !view.current) return;
      const ratio = window.devicePixelRatio || 1;
      if (c.width !== Math.round(c.clientWidth * ratio) || c.height !== Math.round(c.clientHeight * ratio)) {
        c.width = Math.round(c.clientWidth * ratio);
        c.height = Math.round(c.clientHeight * ratio);
      }
      draw(g, n, view.current, size(), ratio);
      if (wrapper.current && !wrapper.current.dataset.drawnMs) {
        g.gl.finish();
        // When the first full drawing landed, in ms since the page opened (bench:scale reads it).
        wrapper.current.dataset.drawnMs = String(Math.round(performance.now()));
      }
    });
  };

  // Positions go to the GPU once per map; the view fits them.
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    try {
      gpu.current ??= setUp(c);
    } catch (error) {
      setFailed((error as Error).message);
      return;
    }
    const g = gpu.current;
    if (!g) {
      setFailed('this browser has no WebGL');
      return;
    }
    const { gl, program } = g;
    gl.bindBuffer(gl.ARRAY_BUFFER, g.position);
    gl.bufferData(gl.ARRAY_BUFFER, map.xy, gl.STATIC_DRAW);
    const at = gl.getAttribLocation(program, 'position');
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
    view.current = fitView(map.xy, size());
    g.fitScale = view.current.scale;
    if (wrapper.current) delete wrapper.current.dataset.drawnMs;
  }, [map]);

  // Colours go to the GPU whenever the colouring changes.
  useEffect(() => {
    const g = gpu.current;
    if (!g) return;
    const { gl, program } = g;
    gl.bindBuffer(gl.ARRAY_BUFFER, g.color);
    gl.bufferData(gl.ARRAY_BUFFER, colors.rgb, gl.STATIC_DRAW);
    const at = gl.getAttribLocation(program, 'color');
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, 3, gl.UNSIGNED_BYTE, true, 0, 0);
    redraw();
  }, [colors]);

  // Pointer: wheel zooms around the pointer, drag pans, hover picks, click opens, double-click refits.
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    let down: { x: number; y: number; view: View } | null = null;
    let dragged = false;
    const local = (e: MouseEvent) => {
      const box = c.getBoundingClientRect();
      return [e.clientX - box.left, e.clientY - box.top] as const;
    };
    const pick = (px: number, py: number) => {
      const v = view.current;
      if (!v) return -1;
      const [x, y] = toData(v, size(), px, py);
      return nearestPoint(grid, x, y, PICK_RADIUS / v.scale);
    };
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      if (!view.current) return;
      const [px, py] = local(e);
      view.current = zoomAt(view.current, size(), px, py, Math.exp(-e.deltaY / 500));
      setHover(null);
      redraw();
    };
    const onDown = (e: PointerEvent) => {
      if (!view.current) return;
      const [px, py] = local(e);
      down = { x: px, y: py, view: view.current };
      dragged = false;
    };
    const onMove = (e: PointerEvent) => {
      const [px, py] = local(e);
      if (down && (e.buttons & 1) === 1) {
        if (Math.hypot(px - down.x, py - down.y) > 4) dragged = true;
        if (dragged) {
          view.current = panBy(down.view, px - down.x, py - down.y);
          setHover(null);
          redraw();
          return;
        }
      }
      const index = pick(px, py);
      if (index < 0 || !view.current) {
        setHover(null);
        return;
      }
      const [x, y] = toPixel(view.current, size(), map.xy[2 * index]!, map.xy[2 * index + 1]!);
      setHover({ index, x, y });
    };
    const onUp = () => (down = null);
    const onLeave = () => setHover(null);
    const onClick = (e: MouseEvent) => {
      if (dragged) return;
      const index = pick(...local(e));
      if (index >= 0) window.location.assign(`/images/${map.ids[index]}`);
    };
    const onDouble = () => {
      view.current = fitView(map.xy, size());
      redraw();
    };
    const onResize = () => redraw();
    const showAt = (index: number) => {
      if (index < 0 || !view.current) {
        setHover(null);
        setAnnounced('No image near the centre of the map.');
        return;
      }
      const [x, y] = toPixel(view.current, size(), map.xy[2 * index]!, map.xy[2 * index + 1]!);
      setHover({ index, x, y });
      const cluster = map.cluster[index]!;
      const label = map.labels[map.label[index]!];
      setAnnounced(`Image ${map.ids[index]}${cluster >= 0 ? `, cluster ${cluster}` : ''}${label ? `, ${label}` : ''}. Enter opens it.`);
    };
    const onKey = (e: KeyboardEvent) => {
      const v = view.current;
      if (!v || e.altKey || e.ctrlKey || e.metaKey) return;
      const { width, height } = size();
      const centre = () => pick(width / 2, height / 2);
      const moves: Record<string, () => View> = {
        ArrowLeft: () => panBy(v, width * KEY_PAN, 0),
        ArrowRight: () => panBy(v, -width * KEY_PAN, 0),
        ArrowUp: () => panBy(v, 0, height * KEY_PAN),
        ArrowDown: () => panBy(v, 0, -height * KEY_PAN),
        '+': () => zoomAt(v, size(), width / 2, height / 2, KEY_ZOOM),
        '=': () => zoomAt(v, size(), width / 2, height / 2, KEY_ZOOM),
        '-': () => zoomAt(v, size(), width / 2, height / 2, 1 / KEY_ZOOM),
        '0': () => fitView(map.xy, size()),
      };
      const move = moves[e.key];
      if (move) {
        e.preventDefault();
        view.current = move();
        redraw();
        showAt(centre());
      } else if (e.key === 'Enter') {
        const index = centre();
        if (index >= 0) window.location.assign(`/images/${map.ids[index]}`);
        else showAt(index);
      }
    };
    const onFocus = () => showAt(pick(size().width / 2, size().height / 2));
    const w = wrapper.current;
    w?.addEventListener('keydown', onKey);
    w?.addEventListener('focus', onFocus);
    c.addEventListener('wheel', onWheel, { passive: false });
    c.addEventListener('pointerdown', onDown);
    c.addEventListener('pointermove', onMove);
    c.addEventListener('pointerleave', onLeave);
    window.addEventListener('pointerup', onUp);
    c.addEventListener('click', onClick);
    c.addEventListener('dblclick', onDouble);
    window.addEventListener('resize', onResize);
    return () => {
      w?.removeEventListener('keydown', onKey);
      w?.removeEventListener('focus', onFocus);
      c.removeEventListener('wheel', onWheel);
      c.removeEventListener('pointerdown', onDown);
      c.removeEventListener('pointermove', onMove);
      c.removeEventListener('pointerleave', onLeave);
      window.removeEventListener('pointerup', onUp);
      c.removeEventListener('click', onClick);
      c.removeEventListener('dblclick', onDouble);
      window.removeEventListener('resize', onResize);
    };
  }, [map, grid]);

  const hovered = hover ? map.ids[hover.index]! : null;
  // Hover marks sit in the wrapper; the canvas is inset by the wrapper's padding.
  const inset = { x: canvas.current?.offsetLeft ?? 0, y: canvas.current?.offsetTop ?? 0 };
  const summary = `Map of ${n.toLocaleString('en')} images in two dimensions, coloured by ${colorBy}: ${colors.groups
    .map((g) => `${g.name} ${g.count.toLocaleString('en')}`)
    .join(', ')}.`;
  return (
    <div>
      <div
        className="chart map"
        data-testid="latent-map"
        data-points={n}
        ref={wrapper}
        tabIndex={0}
        role="application"
        aria-roledescription="map"
        aria-label={`${summary} Arrow keys move, + and − zoom, 0 fits the map, Enter opens the image at the centre.`}
        {...(hover ? { 'data-hover-point': `${Math.round(hover.x)},${Math.round(hover.y)}`, 'data-hover-id': hovered } : {})}
      >
        <canvas ref={canvas} className="map-canvas" role="img" aria-label={summary} data-testid="map-canvas" />
        <span
          className="map-crosshair"
          aria-hidden="true"
          style={{ left: inset.x + (canvas.current?.clientWidth ?? 0) / 2, top: inset.y + (canvas.current?.clientHeight ?? 0) / 2 }}
        />
        {hover && (
          <>
            <span className="map-ring" style={{ left: inset.x + hover.x - 6, top: inset.y + hover.y - 6 }} />
            <img
              className="map-hover"
              src={`/api/images/${hovered}/thumbnail`}
              alt={`image ${hovered}`}
              style={{ left: inset.x + hover.x + 12, top: inset.y + hover.y + 12 }}
              data-testid="map-hover"
            />
          </>
        )}
        {failed && <p className="muted">The map needs WebGL: {failed}</p>}
      </div>
      <p className="sr-only" aria-live="polite" data-testid="map-announce">
        {announced}
      </p>
      <ul className="map-legend" data-testid="map-legend">
        {colors.groups.slice(0, 30).map((g) => (
          <li key={g.name}>
            <span className="swatch" style={{ background: g.color }} aria-hidden="true" /> {g.name} ({g.count.toLocaleString('en')})
          </li>
        ))}
        {colors.groups.length > 30 && <li>… and {colors.groups.length - 30} more</li>}
      </ul>
    </div>
  );
}
