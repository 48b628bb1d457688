// What every screen gets injected: the API client and the router.
import { inject, type InjectionKey, type Ref } from 'vue';
import type { ProjectInfo } from '../../../shared/contract';
import type { ApiClient } from '../api';
import type { Router } from './router';

export const API_KEY: InjectionKey<ApiClient> = Symbol('api');
export const ROUTER_KEY: InjectionKey<Router> = Symbol('router');

/** The project summary in the top bar; screens call refresh() after they change the project. */
export interface ProjectInfoState {
  info: Ref<ProjectInfo | null>;
  refresh(): Promise<void>;
}
export const PROJECT_INFO_KEY: InjectionKey<ProjectInfoState> = Symbol('projectInfo');

export function useProjectInfo(): ProjectInfoState | null {
  return inject(PROJECT_INFO_KEY, null);
}

export function useApi(): ApiClient {
  const api = inject(API_KEY);
  if (!api) throw new Error('ApiClient not provided');
  return api;
}

export function useRouter(): Router {
  const r = inject(ROUTER_KEY);
  if (!r) throw new Error('Router not provided');
  return r;
}
