// Handlers of 'segmentStatus:get' / 'segmentStatus:list' and the wire -> core mapping of the
// statuses labels:save carries. Statuses are written only with a label version (labels:save);
// these handlers read them. A class without a recorded status is shown with the status training
// gives it: in a tracked version, not started; in an untracked one (saved before statuses,
// imported, a review edit), done if the version counts it as labelled (labelled_classes, null =
// all), which is the older rule training keeps for such versions.
import type { OpInput } from '../../shared/contract';
import { SegloopError } from '../../shared/errors';
import type { SegmentStatusView } from '../../shared/segment-status-schema';
import { parseDbId } from '../core/base/ids';
import type { LabelClass, LabelVersionRow, ProjectStore } from '../core/project';
import type { NewSegmentStatus, SegmentStatusRow } from '../core/project/segment-status-repository';
import type { Handlers } from './dispatch';

export type SegmentStatusOps = Pick<Handlers, 'segmentStatus:get' | 'segmentStatus:list'>;

/** labels:save's segmentStatus in core's names. */
export function segmentStatusFromWire(entries: OpInput<'labels:save'>['segmentStatus']): NewSegmentStatus[] | null {
  if (!entries) return null;
  return entries.map((e) => ({ classIdx: e.classIndex, status: e.status, note: e.note ?? null }));
}

function views(classes: readonly LabelClass[], version: LabelVersionRow | null, rows: Map<number, SegmentStatusRow> | undefined): SegmentStatusView[] {
  const tracked = !!rows && rows.size > 0;
  return classes
    .filter((c) => c.idx > 0)
    .map((c) => {
      const r = rows?.get(c.idx);
      if (r) return { classIndex: c.idx, name: c.name, status: r.status, note: r.note, explicit: true, author: r.author, at: r.createdAt };
      const legacyDone = version !== null && !tracked && (version.labelledClasses === null || version.labelledClasses.includes(c.idx));
      return { classIndex: c.idx, name: c.name, status: legacyDone ? 'done' : 'not_started', note: null, explicit: false, author: null, at: null };
    });
}

export function segmentStatusOps({ store }: { store: ProjectStore }): SegmentStatusOps {
  return {
    async 'segmentStatus:get'(input) {
      const image = store.images.require(parseDbId(input.imageId, 'IMAGE_NOT_FOUND', 'image'));
      let version: LabelVersionRow | null;
      if (input.labelVersionId !== undefined) {
        version = store.labelVersions.get(parseDbId(input.labelVersionId, 'LABEL_VERSION_NOT_FOUND', 'label version'));
        if (!version || version.imageId !== image.id) {
          throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${input.labelVersionId} is not a version of image ${image.id}.`, {
            imageId: String(image.id),
            labelVersionId: input.labelVersionId,
          });
        }
      } else {
        version = store.labelVersions.latestForImage(image.id);
      }
      const rows = version ? store.labelVersions.statuses.current(version.id) : undefined;
      return {
        labelVersionId: version ? String(version.id) : null,
        tracked: !!rows && rows.size > 0,
        classes: views(store.labelSchema.list(), version, rows),
        history: store.labelVersions.statuses.historyForImage(image.id).map((r) => ({
          labelVersionId: String(r.labelVersionId),
          classIndex: r.classIdx,
          status: r.status,
          note: r.note,
          author: r.author,
          at: r.createdAt,
        })),
      };
    },

    async 'segmentStatus:list'() {
      const classes = store.labelSchema.list();
      const latest = new Map(store.labelVersions.latestPerImage().map((v) => [v.imageId, v]));
      const statuses = store.labelVersions.statuses.currentForVersions([...latest.values()].map((v) => v.id));
      return {
        rows: store.images.list().map((img) => {
          const v = latest.get(img.id) ?? null;
          const rows = v ? statuses.get(v.id) : undefined;
          return {
            imageId: String(img.id),
            labelVersionId: v ? String(v.id) : null,
            tracked: !!rows && rows.size > 0,
            classes: views(classes, v, rows).map(({ classIndex, status, note, explicit }) => ({ classIndex, status, note, explicit })),
          };
        }),
      };
    },
  };
}
