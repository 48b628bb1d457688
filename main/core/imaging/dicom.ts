// DICOM import: folder scan (series grouping) and series reading. See dicom-series.ts for the
// voxel-order convention (identical to dcm2niix's).
export { scanDicomFolder, scanDicomFolderWithReport, type DicomSeriesInfo, type DicomScanResult, type SkippedFile } from './dicom-scan';
export { readDicomSeries, type DicomVolume, type ReadDicomSeriesOptions } from './dicom-series';
export { parseDicomFile, type DicomFileHeader } from './dicom-header';
