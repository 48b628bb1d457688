// Public NIfTI entry point for the rest of the app.
export { readNifti, assertFinite, type NiftiImage, type ReadNiftiOptions } from './nifti-read';
export { writeNifti, encodeNifti, writeFileAtomic, type WritableVolume, type WriteNiftiOptions } from './nifti-write';
export { parseNiftiHeader, NIFTI_DATATYPES, type NiftiHeader } from './nifti-header';
export { toCanonicalRas, axcodes, assertSameGeometry, assertUsableGeometry, voxelToWorld, affineZooms, ioOrientation } from './geometry';
