// The pods of one example API server: a store with resource versions, a bounded event history
// and watchers, so that watch clients see exactly the changes made after they started.
import { randomUUID } from 'node:crypto';

/** The fields of a v1 Pod that the example server keeps. */
export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
  };
  spec: { containers: { name: string; image: string }[] };
  status: { phase: string };
}

/** One line of a watch stream (apimachinery's `watch.Event`). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Pod;
}

/** What a client may choose when it creates a pod. */
export interface PodTemplate {
  labels?: Record<string, string>;
  spec?: Pod['spec'];
}

/** Receives the events of one namespace (or of all, for an undefined namespace). */
export type WatchListener = (event: WatchEvent) => void;

/** Namespaces the example server has, with the pods it starts with. */
export const SEED_PODS: Readonly<Record<string, readonly string[]>> = {
  default: ['web-0', 'web-1'],
  'kube-system': ['coredns-0', 'etcd-0', 'kube-apiserver-0'],
  demo: ['hello-0', 'hello-1'],
};

/** How many past events a watch may resume from before it gets 410 Expired. */
const HISTORY_LIMIT = 1000;

/** Pods of one server instance: nothing here is global, so servers in one process are independent. */
export class PodStore {
  private readonly pods = new Map<string, Pod>();
  private readonly history: { rv: number; event: WatchEvent }[] = [];
  private readonly listeners = new Set<{ namespace?: string; listener: WatchListener }>();
  private rv = 0;

  constructor() {
    for (const [namespace, names] of Object.entries(SEED_PODS)) {
      for (const name of names) this.create(namespace, name, 'Running');
    }
  }

  /** The namespaces that exist. */
  namespaces(): string[] {
    return Object.keys(SEED_PODS);
  }

  /** The latest resource version, as lists report it. */
  resourceVersion(): string {
    return String(this.rv);
  }

  /** Pods of a namespace, or of all namespaces, ordered like kube-apiserver (namespace, name). */
  list(namespace?: string): Pod[] {
    const pods = [...this.pods.values()].filter((pod) => namespace === undefined || pod.metadata.namespace === namespace);
    return pods.sort((a, b) => key(a).localeCompare(key(b)));
  }

  get(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Creates a pod; undefined when the name is taken. */
  create(namespace: string, name: string, phase = 'Pending', template: PodTemplate = {}): Pod | undefined {
    if (this.get(namespace, name)) return undefined;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(++this.rv),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...(template.labels ? { labels: template.labels } : {}),
      },
      spec: template.spec ?? { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
      status: { phase },
    };
    this.pods.set(key(pod), pod);
    this.emit({ type: 'ADDED', object: pod });
    return pod;
  }

  /** Deletes a pod and returns its last state; undefined when there was none. */
  delete(namespace: string, name: string): Pod | undefined {
    const pod = this.get(namespace, name);
    if (!pod) return undefined;
    this.pods.delete(key(pod));
    const gone: Pod = { ...pod, metadata: { ...pod.metadata, resourceVersion: String(++this.rv) } };
    this.emit({ type: 'DELETED', object: gone });
    return gone;
  }

  /**
   * Events after resource version `since`, for a watch that resumes from a list.
   * @returns undefined when they are no longer all kept (the client must list again: 410).
   */
  eventsSince(since: number, namespace?: string): WatchEvent[] | undefined {
    const oldest = this.history[0]?.rv;
    if (oldest !== undefined && since < oldest - 1) return undefined;
    return this.history
      .filter((entry) => entry.rv > since && (namespace === undefined || entry.event.object.metadata.namespace === namespace))
      .map((entry) => entry.event);
  }

  /** Calls `listener` for each later change; returns the function that stops it. */
  subscribe(namespace: string | undefined, listener: WatchListener): () => void {
    const entry = { namespace, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private emit(event: WatchEvent): void {
    this.history.push({ rv: this.rv, event });
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const { namespace, listener } of this.listeners) {
      if (namespace === undefined || namespace === event.object.metadata.namespace) listener(event);
    }
  }
}

function key(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
