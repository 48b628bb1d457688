// The one three-component tuple of core: a shape (voxels per axis), a spacing (mm per axis), a
// point or a direction. Functions that only read take ReadonlyVec3, which also accepts a Vec3.
export type Vec3 = [number, number, number];
export type ReadonlyVec3 = Readonly<Vec3>;
