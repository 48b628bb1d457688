// Sorting and filtering of the cases table, kept out of the component so it can be tested.
export interface CaseRowLike {
  [key: string]: string | number | null | undefined;
}

export type SortDir = 'asc' | 'desc';

export function sortRows<T extends CaseRowLike>(rows: readonly T[], key: keyof T & string, dir: SortDir): T[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = a[key];
    const vb = b[key];
    // Missing values sort last whatever the direction: an unscored case is not "least uncertain".
    if (va == null && vb == null) return 0;
    if (va == null) return 1;
    if (vb == null) return -1;
    if (typeof va === 'number' && typeof vb === 'number') return sign * (va - vb);
    return sign * String(va).localeCompare(String(vb), undefined, { numeric: true });
  });
}

export function filterRows<T extends CaseRowLike>(rows: readonly T[], text: string, keys: readonly (keyof T & string)[]): T[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [...rows];
  return rows.filter((r) => keys.some((k) => String(r[k] ?? '').toLowerCase().includes(needle)));
}
