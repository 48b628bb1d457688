// Placeholder replaced below.
export async function writeSimulationReport(outDir: string): Promise<{ files: string[]; lines: string[]; table: unknown }> {
  return { files: [], lines: [`report not written for ${outDir}`], table: null };
}
