// The segmentation viewer shared by the Labelling and Review screens: Cornerstone3D rendering
// engine, viewports (MPR or one 2D view), the image volume, the editable labelmap, the labelling
// tools, and optional overlays (a heat map such as the model's uncertainty, fused over the image;
// a second, outline-only labelmap for comparison), all created by init() and destroyed by
// dispose(). Vue components hold this service, never raw Cornerstone objects.
import {
  cache,
  Enums as CoreEnums,
  eventTarget,
  init as coreInit,
  RenderingEngine,
  setVolumesForViewports,
  utilities as coreUtils,
  volumeLoader,
  type Types,
} from '@cornerstonejs/core';
import {
  addTool,
  BrushTool,
  CrosshairsTool,
  Enums as ToolEnums,
  init as toolsInit,
  LabelMapEditWithContourTool,
  PaintFillTool,
  PanTool,
  RectangleScissorsTool,
  segmentation,
  StackScrollTool,
  ToolGroupManager,
  utilities as toolUtils,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import type { LabelClass } from '../../../shared/contract';
import { percentiles, toLpsGeometry, type ParsedNifti } from './nifti-parse';

export const TOOL_NAMES = ['brush', 'eraser', 'sphere', 'sphereEraser', 'threshold', 'rectangle', 'freehand', 'fill', 'regionGrow', 'crosshairs', 'windowLevel'] as const;
export type LabelTool = (typeof TOOL_NAMES)[number];

// The Cornerstone tool instance behind each tool. Region growing has none: a left click gives its
// seed to the screen (onSeed), which runs labels:transform and shows the result as a preview.
const CS_TOOL: Record<Exclude<LabelTool, 'regionGrow'>, string> = {
  brush: 'SegBrush',
  eraser: 'SegEraser',
  sphere: 'SegSphere',
  sphereEraser: 'SegSphereEraser',
  threshold: 'SegThresholdBrush',
  rectangle: RectangleScissorsTool.toolName,
  freehand: LabelMapEditWithContourTool.toolName,
  fill: PaintFillTool.toolName,
  crosshairs: CrosshairsTool.toolName,
  windowLevel: WindowLevelTool.toolName,
};
// Brush and sphere with an intensity range paint through Cornerstone's threshold strategies.
const RANGED_TOOL = { brush: 'SegRangeBrush', sphere: 'SegRangeSphere' } as const;
const CS_INSTANCES = [...Object.values(CS_TOOL), ...Object.values(RANGED_TOOL)];
/** Tools that add voxels to the active segment: the paint constraints apply to them. */
const PAINTING_TOOLS: ReadonlySet<LabelTool> = new Set(['brush', 'sphere', 'threshold']);
/**
 * Cornerstone's sphere is an ellipsoid half a slice deeper than the brush radius (it paints every
 * slice the ball touches); ours is the ball itself — voxel centres within the radius (mm) of the
 * stroke — so a 4 mm sphere on 5 mm slices stays on one slice. Strokes are trimmed to it.
 */
const SPHERE_TOOLS: ReadonlySet<LabelTool> = new Set(['sphere', 'sphereEraser']);

/** Where painting may change voxels (Slicer's "Editable area"): anywhere, only background, or only inside one segment. */
export type EditableArea = 'everywhere' | 'background' | { inside: number };
export interface PaintConstraints {
  /** paint only voxels whose intensity lies in [lower, upper] (brush and sphere); null: any intensity */
  range: [number, number] | null;
  area: EditableArea;
}
export type LabelDisplay = 'filled' | 'outline';

export interface WindowPreset {
  name: string;
  lower: number;
  upper: number;
}

/** What may be drawn over the image besides the editable labelmap (same grid as the image). */
export interface ViewerOverlays {
  /** Non-negative per-voxel values (e.g. TTA variance), drawn as a heat map from 0 (transparent) to heatMax (full). */
  heat?: Float32Array | null;
  /**
   * The value drawn at full heat. Give a fixed one where the unit has a meaning (so a confident
   * model's map looks calm and an unsure one's hot); default: the map's own 99.5th percentile.
   */
  heatMax?: number;
  /** A labelmap shown as outlines only, never edited (e.g. the current label beside a prediction). */
  compare?: Uint8Array | null;
}

export const HEAT_COLORMAP = 'segloop-heat';

export interface ViewerElements {
  /** Three elements for MPR (axial, sagittal, coronal), or one for a W x H x 1 image. */
  elements: HTMLDivElement[];
}

let csReady: Promise<void> | null = null;
function ensureCornerstone(): Promise<void> {
  csReady ??= (async () => {
    await coreInit();
    toolsInit();
    // Saturated "hot" ramp (dark red -> red -> yellow, never white): it must stand out on grey MR.
    coreUtils.colormap.registerColormap({
      ColorSpace: 'RGB',
      Name: HEAT_COLORMAP,
      name: HEAT_COLORMAP,
      RGBPoints: [0, 0.55, 0, 0, 0.35, 1, 0.05, 0, 0.7, 1, 0.55, 0, 1, 1, 0.95, 0],
    });
    for (const T of [BrushTool, CrosshairsTool, PaintFillTool, PanTool, RectangleScissorsTool, LabelMapEditWithContourTool, StackScrollTool, WindowLevelTool, ZoomTool]) {
      addTool(T);
    }
  })();
  return csReady;
}

let instanceCounter = 0;

export class SegmentationViewerService {
  readonly id = `segloop-${++instanceCounter}`;
  private engine: RenderingEngine | null = null;
  private readonly volumeId: string;
  private readonly segId: string;
  private readonly toolGroupId: string;
  private readonly heatId: string;
  private readonly compareId: string;
  private hasHeatVolume = false;
  private hasCompareSeg = false;
  private viewportIds: string[] = [];
  private original: Uint8Array | null = null;
  private presets: WindowPreset[] = [];
  private disposed = false;
  private listeners: (() => void)[] = [];
  private onChange: (() => void) | null = null;
  activeTool: LabelTool = 'brush';
  is2D = false;
  private constraints: PaintConstraints = { range: null, area: 'everywhere' };
  private opacity = 0.55;
  private display: LabelDisplay = 'filled';
  private seedListener: ((voxelIndex: number) => void) | null = null;
  /** labels and undo position when a constrained stroke began (see constrainStroke) */
  private strokeStart: { labels: Uint8Array; top: unknown; undoAvailable: number; tool: LabelTool; path: Types.Point3[]; radius: number } | null = null;

  constructor() {
    this.volumeId = `${this.id}-image`;
    this.segId = `${this.id}-labels`;
    this.toolGroupId = `${this.id}-tools`;
    this.heatId = `${this.id}-heat`;
    this.compareId = `${this.id}-compare`;
  }

  private firstFrame: (() => void) | null = null;
  private pendingFill: Uint8Array | null = null;

  /** Calls `cb` once, when the first viewport has rendered the image. */
  onFirstFrame(cb: () => void): void {
    this.firstFrame = cb;
  }

  /** Calls `cb` with the voxel index (x fastest) clicked with the region-growing tool. */
  onSeed(cb: (voxelIndex: number) => void): void {
    this.seedListener = cb;
  }

  /** Calls `cb` after every edit of the labelmap (paint, erase, undo, redo). */
  onDidEditLabels(cb: () => void): void {
    this.onChange = cb;
  }

  async init(els: ViewerElements, image: ParsedNifti, labels: Uint8Array | null, schema: readonly LabelClass[], overlays: ViewerOverlays = {}): Promise<void> {
    await ensureCornerstone();
    if (this.disposed) return;
    const [X, Y, Z] = image.shape;
    this.is2D = Z === 1;
    const geo = toLpsGeometry(image.affine);
    const common = {
      dimensions: [X, Y, Z] as Types.Point3,
      spacing: geo.spacing as Types.Point3,
      origin: geo.origin as Types.Point3,
      direction: geo.direction as Types.Mat3,
    };
    const metadata = {
      BitsAllocated: 32,
      BitsStored: 32,
      SamplesPerPixel: 1,
      HighBit: 31,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelRepresentation: 1,
      Modality: 'MR',
      ImageOrientationPatient: geo.direction.slice(0, 6),
      PixelSpacing: [geo.spacing[1], geo.spacing[0]],
      FrameOfReferenceUID: `${this.id}-for`,
      Columns: X,
      Rows: Y,
      voiLut: [],
      VOILUTFunction: 'LINEAR',
    } as unknown as Types.Metadata;
    volumeLoader.createLocalVolume(this.volumeId, { ...common, metadata, scalarData: image.data });

    const labelData = new Uint8Array(X * Y * Z);
    if (labels) labelData.set(labels);
    this.original = labelData.slice();
    // The labelmap must name its image volume: threshold tools read intensities through it.
    const imageIds = cache.getVolume(this.volumeId)?.imageIds ?? [];
    volumeLoader.createLocalLabelmapVolume(
      { ...common, metadata, scalarData: labelData, referencedVolumeId: this.volumeId, referencedImageIds: imageIds },
      this.segId,
    );
    this.fixSlicePositions(this.volumeId, geo, Z);
    this.fixSlicePositions(this.segId, geo, Z);
    const n = X * Y * Z;
    if (overlays.heat) {
      if (overlays.heat.length !== n) throw new Error(`The heat overlay has ${overlays.heat.length} voxels, the image ${n}`);
      volumeLoader.createLocalVolume(this.heatId, { ...common, metadata, scalarData: normaliseHeat(overlays.heat, overlays.heatMax) });
      this.fixSlicePositions(this.heatId, geo, Z);
      this.hasHeatVolume = true;
    }
    if (overlays.compare) {
      if (overlays.compare.length !== n) throw new Error(`The comparison labelmap has ${overlays.compare.length} voxels, the image ${n}`);
      volumeLoader.createLocalLabelmapVolume(
        { ...common, metadata, scalarData: overlays.compare.slice(), referencedVolumeId: this.volumeId, referencedImageIds: imageIds },
        this.compareId,
      );
      this.fixSlicePositions(this.compareId, geo, Z);
      this.hasCompareSeg = true;
    }

    const [p005, p1, p5, p50, p95, p99, p995] = percentiles(image.data, [0.5, 1, 5, 50, 95, 99, 99.5]);
    this.presets = [
      { name: 'Auto (1–99 %)', lower: p1, upper: p99 },
      { name: 'Wide (0.5–99.5 %)', lower: p005, upper: p995 },
      { name: 'Narrow (5–95 %)', lower: p5, upper: p95 },
      { name: 'Bright (50–99.5 %)', lower: p50, upper: p995 },
    ];

    this.engine = new RenderingEngine(`${this.id}-engine`);
    const orientations = this.is2D
      ? [CoreEnums.OrientationAxis.ACQUISITION]
      : [CoreEnums.OrientationAxis.AXIAL, CoreEnums.OrientationAxis.SAGITTAL, CoreEnums.OrientationAxis.CORONAL];
    const inputs = orientations.map((orientation, i) => ({
      viewportId: `${this.id}-vp${i}`,
      type: CoreEnums.ViewportType.ORTHOGRAPHIC,
      element: els.elements[i],
      defaultOptions: { orientation, background: [0, 0, 0] as Types.Point3 },
    }));
    this.engine.setViewports(inputs);
    this.viewportIds = inputs.map((v) => v.viewportId);
    const volumes: Types.IVolumeInput[] = [{ volumeId: this.volumeId }];
    if (this.hasHeatVolume) volumes.push({ volumeId: this.heatId });
    await setVolumesForViewports(this.engine, volumes, this.viewportIds);
    if (this.hasHeatVolume) this.setHeatOpacity(0.5);

    const Labelmap = ToolEnums.SegmentationRepresentations.Labelmap;
    // The comparison labelmap goes in first so that the editable one ends up the active one.
    const segIds = this.hasCompareSeg ? [this.compareId, this.segId] : [this.segId];
    segmentation.addSegmentations(segIds.map((id) => ({ segmentationId: id, representation: { type: Labelmap, data: { volumeId: id } } })));
    const map: Record<string, { segmentationId: string }[]> = {};
    for (const vp of this.viewportIds) map[vp] = segIds.map((id) => ({ segmentationId: id }));
    await segmentation.addLabelmapRepresentationToViewportMap(map);
    for (const vp of this.viewportIds) {
      segmentation.activeSegmentation.setActiveSegmentation(vp, this.segId);
      for (const cls of schema) {
        if (cls.index === 0) continue;
        segmentation.config.color.setSegmentIndexColor(vp, this.segId, cls.index, [...hexToRgb(cls.colour), 255] as Types.Color);
        if (this.hasCompareSeg) segmentation.config.color.setSegmentIndexColor(vp, this.compareId, cls.index, [255, 255, 255, 255] as Types.Color);
      }
    }
    if (this.hasCompareSeg) {
      segmentation.config.style.setStyle(
        { type: Labelmap, segmentationId: this.compareId },
        { renderFill: false, renderFillInactive: false, fillAlpha: 0, fillAlphaInactive: 0, renderOutline: true, renderOutlineInactive: true, outlineWidth: 2, outlineWidthInactive: 2, outlineOpacity: 1, outlineOpacityInactive: 1 },
      );
    }
    segmentation.segmentIndex.setActiveSegmentIndex(this.segId, schema.find((c) => c.index > 0)?.index ?? 1);
    this.setOpacity(0.55);

    this.setupTools();
    this.applyPreset(0);

    const el0 = els.elements[0];
    const rendered = (): void => {
      el0.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, rendered);
      this.firstFrame?.();
      this.firstFrame = null;
    };
    el0.addEventListener(CoreEnums.Events.IMAGE_RENDERED, rendered);
    this.listeners.push(() => el0.removeEventListener(CoreEnums.Events.IMAGE_RENDERED, rendered));
    // Cornerstone's flood fill records no undo step: snapshot at the press (the fill itself runs
    // later, after the double-click window) and record the difference when its data event comes.
    for (const el of els.elements.slice(0, this.viewportIds.length)) {
      const before = (ev: PointerEvent): void => {
        this.pendingFill = this.activeTool === 'fill' ? this.getLabels() : null;
        if (this.activeTool === 'crosshairs' && ev.button === 0) this.jumpTo(el, ev);
        if (this.activeTool === 'regionGrow' && ev.button === 0) {
          const seed = this.voxelAt(el, ev);
          if (seed !== null) this.seedListener?.(seed);
        }
        const tool = this.activeTool;
        if (ev.button === 0 && ((PAINTING_TOOLS.has(tool) && this.isConstrained()) || SPHERE_TOOLS.has(tool))) {
          const hm = history();
          const at = this.worldAt(el, ev);
          this.strokeStart = { labels: this.getLabels(), top: hm.ring[hm.position], undoAvailable: hm.undoAvailable, tool, path: at ? [at] : [], radius: this.getBrushSize() };
        }
      };
      const moved = (ev: PointerEvent): void => {
        if (!this.strokeStart || !SPHERE_TOOLS.has(this.strokeStart.tool) || !(ev.buttons & 1)) return;
        const at = this.worldAt(el, ev);
        if (at) this.strokeStart.path.push(at);
      };
      el.addEventListener('pointerdown', before, { capture: true });
      el.addEventListener('pointermove', moved, { capture: true });
      this.listeners.push(() => el.removeEventListener('pointerdown', before, { capture: true }));
      this.listeners.push(() => el.removeEventListener('pointermove', moved, { capture: true }));
    }
    // Cornerstone ends a stroke (and records its undo step) in its own listener for the end of the
    // press; ours sees it first (capture on the window; pointerup, since a prevented pointerdown
    // suppresses the compatibility mouse events) and trims the stroke once Cornerstone's has run.
    const after = (): void => {
      const start = this.strokeStart;
      this.strokeStart = null;
      // The sphere strategy writes its voxels (and its undo step) a little after the release:
      // wait for the step to appear (up to 2 s; a press that changed nothing records none).
      const attempt = (n: number): void => {
        const hm = history();
        if (hm.ring[hm.position] === start!.top && n < 40) setTimeout(() => attempt(n + 1), 50);
        else this.constrainStroke(start!);
      };
      if (start) setTimeout(() => attempt(0), 0);
    };
    window.addEventListener('pointerup', after, { capture: true });
    window.addEventListener('mouseup', after, { capture: true });
    this.listeners.push(() => window.removeEventListener('pointerup', after, { capture: true }));
    this.listeners.push(() => window.removeEventListener('mouseup', after, { capture: true }));
    const edited = (): void => {
      if (this.pendingFill && this.activeTool === 'fill') {
        const snapshot = this.pendingFill;
        this.pendingFill = null;
        this.pushEditMemo(snapshot);
      }
      this.onChange?.();
    };
    eventTarget.addEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, edited);
    this.listeners.push(() => eventTarget.removeEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, edited));
    this.engine.render();
  }

  /**
   * createLocalVolume gives every slice image the volume's origin; tools and the labelmap mapper
   * look slices up by position, so give each its real position (origin + k * spacing_k * k_dir).
   */
  private fixSlicePositions(volumeId: string, geo: { origin: number[]; direction: number[]; spacing: number[] }, Z: number): void {
    const vol = cache.getVolume(volumeId);
    if (!vol) return;
    const k = geo.direction.slice(6, 9);
    vol.imageIds.forEach((imageId, i) => {
      const plane = coreUtils.genericMetadataProvider.get(CoreEnums.MetadataModules.IMAGE_PLANE, imageId) as Record<string, unknown> | undefined;
      if (!plane || i >= Z) return;
      const pos = [0, 1, 2].map((a) => geo.origin[a] + i * geo.spacing[2] * k[a]);
      coreUtils.genericMetadataProvider.add(imageId, {
        type: CoreEnums.MetadataModules.IMAGE_PLANE,
        metadata: { ...plane, imagePositionPatient: pos, frameOfReferenceUID: `${this.id}-for`, sliceLocation: pos[2] },
      });
    });
  }

  private setupTools(): void {
    const tg = ToolGroupManager.createToolGroup(this.toolGroupId);
    if (!tg) throw new Error('Cannot create the tool group');
    tg.addTool(WindowLevelTool.toolName);
    tg.addTool(PanTool.toolName);
    tg.addTool(ZoomTool.toolName);
    tg.addTool(StackScrollTool.toolName);
    tg.addToolInstance('SegBrush', BrushTool.toolName, { activeStrategy: 'FILL_INSIDE_CIRCLE' });
    tg.addToolInstance('SegEraser', BrushTool.toolName, { activeStrategy: 'ERASE_INSIDE_CIRCLE' });
    tg.addToolInstance('SegThresholdBrush', BrushTool.toolName, { activeStrategy: 'THRESHOLD_INSIDE_CIRCLE' });
    tg.addToolInstance('SegSphere', BrushTool.toolName, { activeStrategy: 'FILL_INSIDE_SPHERE' });
    tg.addToolInstance('SegSphereEraser', BrushTool.toolName, { activeStrategy: 'ERASE_INSIDE_SPHERE' });
    tg.addToolInstance(RANGED_TOOL.brush, BrushTool.toolName, { activeStrategy: 'THRESHOLD_INSIDE_CIRCLE' });
    tg.addToolInstance(RANGED_TOOL.sphere, BrushTool.toolName, { activeStrategy: 'THRESHOLD_INSIDE_SPHERE' });
    tg.addTool(RectangleScissorsTool.toolName);
    tg.addTool(LabelMapEditWithContourTool.toolName);
    tg.addTool(PaintFillTool.toolName);
    if (!this.is2D) {
      tg.addTool(CrosshairsTool.toolName, { getReferenceLineColor: () => 'rgb(74, 163, 255)' });
    }
    for (const vp of this.viewportIds) tg.addViewport(vp, this.engine!.id);
    const B = ToolEnums.MouseBindings;
    tg.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: B.Auxiliary }] });
    tg.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: B.Secondary }] });
    tg.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: B.Wheel }] });
    this.setTool('brush');
    this.setBrushSize(2);
  }

  setTool(tool: LabelTool): void {
    const tg = ToolGroupManager.getToolGroup(this.toolGroupId);
    if (!tg) return;
    if (tool === 'crosshairs' && this.is2D) return;
    const instance = this.instanceFor(tool);
    for (const name of CS_INSTANCES) {
      if (name === instance || !tg.hasTool(name)) continue;
      // Crosshair lines only while the crosshairs tool is chosen; other tools stay passive.
      if (name === CrosshairsTool.toolName) tg.setToolDisabled(name);
      else tg.setToolPassive(name);
    }
    if (instance) tg.setToolActive(instance, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
    this.activeTool = tool;
    if (tool === 'threshold') {
      const vp = this.engine?.getViewport(this.viewportIds[0]) as Types.IVolumeViewport | undefined;
      const range = vp?.getProperties()?.voiRange;
      if (range) this.setThreshold('SegThresholdBrush', [range.lower, range.upper]);
    } else if (instance && this.constraints.range && (tool === 'brush' || tool === 'sphere')) {
      this.setThreshold(instance, this.constraints.range);
    }
    this.engine?.render();
  }

  private instanceFor(tool: LabelTool): string | null {
    if (tool === 'regionGrow') return null;
    if (this.constraints.range && (tool === 'brush' || tool === 'sphere')) return RANGED_TOOL[tool];
    return CS_TOOL[tool];
  }

  private setThreshold(instance: string, range: [number, number]): void {
    const t = ToolGroupManager.getToolGroup(this.toolGroupId)?.getToolInstance(instance) as { configuration: Record<string, unknown> } | undefined;
    if (t) t.configuration = { ...t.configuration, threshold: { range: [range[0], range[1]], isDynamic: false, dynamicRadius: 0 } };
  }

  /** Limits painting (brush, sphere, threshold brush) to an intensity range and an editable area. */
  setPaintConstraints(c: PaintConstraints): void {
    this.constraints = { range: c.range ? [Math.min(...c.range), Math.max(...c.range)] : null, area: c.area };
    this.setTool(this.activeTool);
  }

  getPaintConstraints(): PaintConstraints {
    return this.constraints;
  }

  private isConstrained(): boolean {
    return this.constraints.range !== null || this.constraints.area !== 'everywhere';
  }

  /** Lowest and highest intensity of the image (bounds for the intensity-range inputs). */
  getIntensityBounds(): [number, number] {
    const data = cache.getVolume(this.volumeId)?.voxelManager?.getCompleteScalarDataArray?.() as ArrayLike<number> | undefined;
    let lo = Infinity;
    let hi = -Infinity;
    if (data) for (let i = 0; i < data.length; i++) if (data[i] < lo) lo = data[i]; else if (data[i] > hi) hi = data[i];
    return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, 1];
  }

  /**
   * After a constrained stroke: voxels it changed outside the editable area or the intensity range
   * go back to what they were, and the stroke's undo step is replaced by one holding only the
   * voxels that stayed (so undo, redo and the unsaved count see the constrained stroke).
   */
  private constrainStroke(start: NonNullable<SegmentationViewerService['strokeStart']>): void {
    if (this.disposed) return;
    const before = start.labels;
    const now = this.getLabels();
    const image = cache.getVolume(this.volumeId)?.voxelManager?.getCompleteScalarDataArray?.() as ArrayLike<number> | undefined;
    const { range, area } = this.constraints;
    const painting = PAINTING_TOOLS.has(start.tool);
    const inBall = SPHERE_TOOLS.has(start.tool) ? this.ballTest(start.path, start.radius) : () => true;
    const keep: number[] = [];
    const revert: number[] = [];
    for (let i = 0; i < now.length; i++) {
      if (now[i] === before[i]) continue;
      const allowedArea = !painting || area === 'everywhere' || (area === 'background' ? before[i] === 0 : before[i] === area.inside);
      const allowedRange = !painting || !range || !image || (image[i] >= range[0] && image[i] <= range[1]);
      (allowedArea && allowedRange && inBall(i) ? keep : revert).push(i);
    }
    if (revert.length === 0) return;
    const hm = history();
    const strokeMemo = hm.undoAvailable > 0 && hm.ring[hm.position] !== start.top ? hm.position : -1;
    this.writeVoxels(Uint32Array.from(revert), Uint8Array.from(revert, (i) => before[i]));
    if (strokeMemo >= 0) {
      const indices = Uint32Array.from(keep);
      const oldValues = Uint8Array.from(keep, (i) => before[i]);
      const newValues = Uint8Array.from(keep, (i) => now[i]);
      hm.ring[strokeMemo] = { id: `${this.id}-constrained-${Date.now()}`, restoreMemo: (undo?: boolean) => this.writeVoxels(indices, undo ? oldValues : newValues) };
    }
    this.onChange?.();
  }

  /** Whether voxel i's centre lies within `radius` mm of the stroke path (a polyline in world space). */
  private ballTest(path: Types.Point3[], radius: number): (i: number) => boolean {
    const vol = cache.getVolume(this.segId);
    if (!vol || path.length === 0) return () => true;
    const [X, Y] = vol.dimensions;
    const r2 = radius * radius * (1 + 1e-9);
    return (i) => {
      const p = vol.imageData!.indexToWorld([i % X, Math.floor(i / X) % Y, Math.floor(i / (X * Y))]);
      for (let s = 0; s < path.length; s++) {
        const a = path[s];
        const b = path[Math.min(s + 1, path.length - 1)];
        const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        const l2 = ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2;
        const t = l2 > 0 ? Math.max(0, Math.min(1, ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1] + (p[2] - a[2]) * ab[2]) / l2)) : 0;
        const d2 = (p[0] - a[0] - t * ab[0]) ** 2 + (p[1] - a[1] - t * ab[1]) ** 2 + (p[2] - a[2] - t * ab[2]) ** 2;
        if (d2 <= r2) return true;
      }
      return false;
    };
  }

  private worldAt(el: HTMLDivElement, ev: PointerEvent): Types.Point3 | null {
    const engine = this.engine;
    if (!engine) return null;
    const vp = this.viewportIds.map((id) => engine.getViewport(id)).find((v) => v?.element === el);
    if (!vp) return null;
    const rect = el.getBoundingClientRect();
    return vp.canvasToWorld([ev.clientX - rect.left, ev.clientY - rect.top] as Types.Point2);
  }

  /** The voxel (x-fastest index) under a pointer event on a viewport element, or null outside the image. */
  private voxelAt(el: HTMLDivElement, ev: PointerEvent): number | null {
    const vol = cache.getVolume(this.segId);
    const world = this.worldAt(el, ev);
    if (!vol || !world) return null;
    const ijk = Array.from(coreUtils.transformWorldToIndex(vol.imageData!, world), (v: number) => Math.round(v));
    const [X, Y, Z] = vol.dimensions;
    if (ijk[0] < 0 || ijk[1] < 0 || ijk[2] < 0 || ijk[0] >= X || ijk[1] >= Y || ijk[2] >= Z) return null;
    return ijk[0] + X * (ijk[1] + Y * ijk[2]);
  }

  /** Brush radius in millimetres (Cornerstone measures it in world units). */
  setBrushSize(mm: number): void {
    toolUtils.segmentation.setBrushSizeForToolGroup(this.toolGroupId, mm);
  }

  getBrushSize(): number {
    return toolUtils.segmentation.getBrushSizeForToolGroup(this.toolGroupId) || 2;
  }

  setActiveSegment(index: number): void {
    segmentation.segmentIndex.setActiveSegmentIndex(this.segId, index);
  }

  setSegmentVisible(index: number, visible: boolean): void {
    for (const vp of this.viewportIds) {
      segmentation.config.visibility.setSegmentIndexVisibility(vp, { segmentationId: this.segId, type: ToolEnums.SegmentationRepresentations.Labelmap }, index, visible);
    }
  }

  setOpacity(alpha: number): void {
    this.opacity = alpha;
    this.applyLabelStyle();
  }

  /** Filled regions (with outlines) or outlines only, e.g. to see the image under a large segment. */
  setDisplay(mode: LabelDisplay): void {
    this.display = mode;
    this.applyLabelStyle();
  }

  private applyLabelStyle(): void {
    const filled = this.display === 'filled';
    segmentation.config.style.setStyle(
      { type: ToolEnums.SegmentationRepresentations.Labelmap, segmentationId: this.segId },
      { renderFill: filled, renderFillInactive: filled, fillAlpha: this.opacity, fillAlphaInactive: this.opacity, outlineOpacity: 1, renderOutline: true, outlineWidth: filled ? 1 : 2 },
    );
    this.engine?.render();
  }

  hasHeat(): boolean {
    return this.hasHeatVolume;
  }

  hasCompare(): boolean {
    return this.hasCompareSeg;
  }

  /** Opacity of the heat overlay: 0 hides it; voxels near zero stay transparent at any setting. */
  setHeatOpacity(alpha: number): void {
    if (!this.engine || !this.hasHeatVolume) return;
    for (const id of this.viewportIds) {
      const vp = this.engine.getViewport(id) as Types.IVolumeViewport;
      vp.setProperties(
        {
          voiRange: { lower: 0, upper: 1 },
          colormap: {
            name: HEAT_COLORMAP,
            opacity: [
              { value: 0, opacity: 0 },
              { value: 0.05, opacity: 0 },
              { value: 0.2, opacity: 0.75 * alpha },
              { value: 1, opacity: alpha },
            ],
          },
        },
        this.heatId,
      );
      vp.render();
    }
  }

  /** Shows or hides the comparison outlines. */
  setCompareVisible(visible: boolean): void {
    if (!this.hasCompareSeg) return;
    for (const vp of this.viewportIds) {
      segmentation.config.visibility.setSegmentationRepresentationVisibility(vp, { segmentationId: this.compareId, type: ToolEnums.SegmentationRepresentations.Labelmap }, visible);
    }
    this.engine?.render();
  }

  getPresets(): WindowPreset[] {
    return this.presets;
  }

  applyPreset(index: number): void {
    const p = this.presets[index];
    if (!p || !this.engine) return;
    for (const id of this.viewportIds) {
      const vp = this.engine.getViewport(id) as Types.IVolumeViewport;
      vp.setProperties({ voiRange: { lower: p.lower, upper: p.upper } });
      vp.render();
    }
  }

  undo(): void {
    coreUtils.HistoryMemo.DefaultHistoryMemo.undo();
    this.onChange?.();
  }

  redo(): void {
    coreUtils.HistoryMemo.DefaultHistoryMemo.redo();
    this.onChange?.();
  }

  canUndo(): boolean {
    return coreUtils.HistoryMemo.DefaultHistoryMemo.canUndo;
  }

  canRedo(): boolean {
    return coreUtils.HistoryMemo.DefaultHistoryMemo.canRedo;
  }

  /**
   * Crosshairs navigation: the other views move their slice through the clicked point. (The
   * Crosshairs tool draws the lines; its own click-to-jump does not fire for local volumes.)
   */
  private jumpTo(el: HTMLDivElement, ev: PointerEvent): void {
    const engine = this.engine;
    if (!engine) return;
    const source = this.viewportIds.map((id) => engine.getViewport(id)).find((vp) => vp?.element === el) as Types.IVolumeViewport | undefined;
    if (!source) return;
    const rect = el.getBoundingClientRect();
    const world = source.canvasToWorld([ev.clientX - rect.left, ev.clientY - rect.top] as Types.Point2);
    for (const id of this.viewportIds) {
      const vp = engine.getViewport(id) as Types.IVolumeViewport;
      if (vp === source) continue;
      const cam = vp.getCamera();
      const n = cam.viewPlaneNormal!;
      const d = (world[0] - cam.focalPoint![0]) * n[0] + (world[1] - cam.focalPoint![1]) * n[1] + (world[2] - cam.focalPoint![2]) * n[2];
      const shift = (p: Types.Point3): Types.Point3 => [p[0] + d * n[0], p[1] + d * n[1], p[2] + d * n[2]];
      vp.setCamera({ focalPoint: shift(cam.focalPoint!), position: shift(cam.position!) });
      vp.render();
    }
  }

  /** Records the difference between `before` and now as one undo/redo step. */
  private pushEditMemo(before: Uint8Array): void {
    if (this.disposed) return;
    const after = this.getLabels();
    const idx: number[] = [];
    for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) idx.push(i);
    if (idx.length === 0) return;
    const indices = Uint32Array.from(idx);
    const oldValues = Uint8Array.from(idx, (i) => before[i]);
    const newValues = Uint8Array.from(idx, (i) => after[i]);
    coreUtils.HistoryMemo.DefaultHistoryMemo.push({
      id: `${this.id}-fill-${Date.now()}`,
      restoreMemo: (undo?: boolean) => this.writeVoxels(indices, undo ? oldValues : newValues),
    });
  }

  /**
   * Writes `values` at `indices` of the labelmap as one undoable edit (e.g. strokes recovered from
   * a draft): the same path as a brush stroke for undo, the unsaved count and the edit listeners.
   */
  applyVoxels(indices: Uint32Array, values: Uint8Array): void {
    if (this.disposed || indices.length === 0 || indices.length !== values.length) return;
    const before = this.getLabels();
    this.writeVoxels(indices, values);
    this.pushEditMemo(before);
    this.onChange?.();
  }

  private writeVoxels(indices: Uint32Array, values: Uint8Array): void {
    const vm = cache.getVolume(this.segId)?.voxelManager;
    if (!vm || this.disposed) return;
    for (let k = 0; k < indices.length; k++) vm.setAtIndex(indices[k], values[k]);
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(this.segId);
  }

  /** The current labelmap as uint8 in nibabel order. */
  getLabels(): Uint8Array {
    const vol = cache.getVolume(this.segId);
    if (!vol) throw new Error('The labelmap is not loaded');
    const data = vol.voxelManager?.getCompleteScalarDataArray?.() as ArrayLike<number> | undefined;
    if (!data) throw new Error('The labelmap has no voxel data');
    return data instanceof Uint8Array ? data.slice() : Uint8Array.from(data);
  }

  /** Voxels that differ from what was loaded (or last marked saved). */
  countChanged(): number {
    if (!this.original) return 0;
    const now = this.getLabels();
    let n = 0;
    for (let i = 0; i < now.length; i++) if (now[i] !== this.original[i]) n++;
    return n;
  }

  markSaved(labels: Uint8Array): void {
    this.original = labels.slice();
  }

  /** Counts of what this viewer holds in the Cornerstone cache (for tests and diagnostics). */
  static cacheStats(): { volumes: number; segmentations: number; images: number } {
    const c = cache as unknown as { getVolumes(): unknown[]; getCacheSize(): number; _imageCache?: Map<string, unknown> };
    return {
      volumes: c.getVolumes().length,
      segmentations: segmentation.state.getSegmentations().length,
      images: c._imageCache ? c._imageCache.size : -1,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const off of this.listeners) off();
    this.listeners = [];
    this.onChange = null;
    try {
      ToolGroupManager.destroyToolGroup(this.toolGroupId);
    } catch {
      /* not created */
    }
    for (const id of [this.segId, this.compareId]) {
      try {
        segmentation.removeSegmentation(id);
      } catch {
        /* not added */
      }
    }
    this.engine?.destroy();
    this.engine = null;
    for (const id of [this.volumeId, this.segId, this.heatId, this.compareId]) {
      const vol = cache.getVolume(id);
      const imageIds = vol?.imageIds ?? [];
      if (cache.getVolumeLoadObject(id) || vol) cache.removeVolumeLoadObject(id);
      for (const imageId of imageIds) if (cache.getImageLoadObject(imageId) || cache.getImage(imageId)) cache.removeImageLoadObject(imageId);
    }
    // Undo history points at the destroyed labelmap: drop it.
    coreUtils.HistoryMemo.DefaultHistoryMemo.size = 0;
    coreUtils.HistoryMemo.DefaultHistoryMemo.size = 50;
    this.original = null;
  }
}

/** Heat values scaled to [0, 1] by `max` (default: their 99.5th percentile of non-zero voxels), clipped. */
export function normaliseHeat(values: Float32Array, max?: number): Float32Array {
  let top = max ?? 0;
  if (max === undefined) {
    const positive = values.filter((v) => Number.isFinite(v) && v > 0);
    top = positive.length ? percentiles(positive, [99.5])[0] : 0;
  }
  const out = new Float32Array(values.length);
  if (!(top > 0)) return out;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isFinite(v) && v > 0 ? Math.min(1, v / top) : 0;
  }
  return out;
}

/**
 * The undo ring's top, read to find (and replace) the step a stroke just recorded. HistoryMemo keeps
 * these private; its public replaceCurrentMemo cannot tell whether the top is the stroke's.
 */
function history(): { ring: unknown[]; position: number; undoAvailable: number } {
  return coreUtils.HistoryMemo.DefaultHistoryMemo as unknown as { ring: unknown[]; position: number; undoAvailable: number };
}

function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
