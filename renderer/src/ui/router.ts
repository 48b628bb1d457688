// A tiny hash router: two screens do not need a routing library. Leaving a screen can be
// vetoed (unsaved work), which is why navigation goes through `navigate` and `beforeLeave`.
import { ref, type Ref } from 'vue';

export type Route =
  | { name: 'cases' }
  | { name: 'labelling'; imageId: string }
  | { name: 'diagnostics' }
  | { name: 'evaluation' }
  | { name: 'training' }
  | { name: 'models' }
  | { name: 'review' };

export function parseHash(hash: string): Route {
  const m = /^#\/label\/([A-Za-z0-9_.:-]+)$/.exec(hash);
  if (m) return { name: 'labelling', imageId: decodeURIComponent(m[1]) };
  if (hash === '#/diagnostics') return { name: 'diagnostics' };
  if (hash === '#/evaluation') return { name: 'evaluation' };
  if (hash === '#/training') return { name: 'training' };
  if (hash === '#/models') return { name: 'models' };
  if (hash === '#/review') return { name: 'review' };
  return { name: 'cases' };
}

export function routeHash(route: Route): string {
  if (route.name === 'diagnostics') return '#/diagnostics';
  if (route.name === 'evaluation') return '#/evaluation';
  if (route.name === 'training') return '#/training';
  if (route.name === 'models') return '#/models';
  if (route.name === 'review') return '#/review';
  return route.name === 'labelling' ? `#/label/${encodeURIComponent(route.imageId)}` : '#/cases';
}

type Guard = () => boolean;

export interface Router {
  current: Ref<Route>;
  navigate(route: Route): void;
  /** Registers a guard asked before leaving the current screen; returns its remover. */
  beforeLeave(guard: Guard): () => void;
  dispose(): void;
}

export function createRouter(win: Window = window): Router {
  const current = ref<Route>(parseHash(win.location.hash));
  const guards = new Set<Guard>();
  const allowed = (): boolean => [...guards].every((g) => g());
  const onHash = (): void => {
    const next = parseHash(win.location.hash);
    if (routeHash(next) === routeHash(current.value)) return;
    if (!allowed()) {
      // Put the address back; the screen stays.
      win.history.replaceState(null, '', routeHash(current.value));
      return;
    }
    current.value = next;
  };
  win.addEventListener('hashchange', onHash);
  return {
    current,
    navigate(route) {
      if (routeHash(route) === routeHash(current.value)) return;
      if (!allowed()) return;
      win.history.pushState(null, '', routeHash(route));
      current.value = route;
    },
    beforeLeave(guard) {
      guards.add(guard);
      return () => guards.delete(guard);
    },
    dispose() {
      win.removeEventListener('hashchange', onHash);
    },
  };
}
