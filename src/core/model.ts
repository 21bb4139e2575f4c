import type { PartitionMapping } from './mappings/mapping.ts';
import type { PartitionsDefinition } from './partitions/definition.ts';

/** A position in a definition file (1-based). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface AssetDependency {
  asset: string;
  mapping: PartitionMapping;
  /** Where the dependency is written. */
  location: SourceLocation;
}

export interface CheckSpec {
  name: string;
  run: string;
  blocking: boolean;
}

/**
 * What one run of an asset costs, declared (`cost:`): per run of its command, per partition it
 * materializes, or per hour of runtime (times `resources.cpus` where given). A cost the command
 * reports (`::backfill cost=…`) wins over the declared rate.
 */
export type CostRate = { per_run: number } | { per_partition: number } | { per_hour: number };

/** What one run of an asset needs while it runs (`resources:`); the runner admits tasks within the machine's capacity. */
export interface Resources {
  cpus?: number;
  /** Bytes. */
  memory?: number;
}

/**
 * How a task is submitted to Slurm (`slurm:` in an asset, or a named profile of `slurm_profiles:`).
 * Unset fields are left to the cluster's defaults; `resources:` gives cpus and memory when these do not.
 */
export interface SlurmOptions {
  partition?: string;
  account?: string;
  qos?: string;
  /** --cpus-per-task. */
  cpus?: number;
  /** --mem, in bytes. */
  mem?: number;
  /** --time, in minutes. */
  time?: number;
  /** --gres, e.g. `gpu:1`. */
  gres?: string;
  /** More sbatch options, each one argument (`--constraint=avx2`). */
  extra_args?: string[];
}

/** Where a task's command runs: a child process of the runner (`local`), or a Slurm job (`slurm`). */
export type ExecutorName = 'local' | 'slurm';
export const EXECUTORS: readonly ExecutorName[] = ['local', 'slurm'];

/** What the running tasks' declared resources may add up to: the machine's cores and memory, or less. */
export interface Capacity {
  cpus: number;
  /** Bytes. */
  memory: number;
}

export interface BackfillStrategy {
  strategy: 'per_partition' | 'single_run';
  max_partitions_per_run?: number;
}

/** One asset as defined in a `*.assets.yaml` file. */
export interface AssetDefinition {
  name: string;
  /** Position of the asset's name key. */
  location: SourceLocation;
  group: string;
  description?: string;
  partitions: PartitionsDefinition;
  /** Name of the workspace partition set used, when `partitions:` named one. */
  partitionsRef?: string;
  deps: AssetDependency[];
  run?: string;
  code_version?: string;
  source?: string[];
  /** `source_outside_workspace: true`: its `source:` globs may read files outside the workspace. */
  source_outside_workspace?: boolean;
  /** The folder its source files must stay in (the workspace's, set by the loader); unset: anywhere. */
  sourceRoot?: string;
  output?: string;
  /** `output_outside_workspace: true`: its output paths may lie outside the workspace (else they are never looked at there). */
  output_outside_workspace?: boolean;
  /** The folder its output paths must stay in (the workspace's, set by the loader); unset: the definition file's folder. */
  outputRoot?: string;
  cwd?: string;
  env?: Record<string, string>;
  pool?: string;
  retries?: number;
  /** Seconds. */
  timeout?: number;
  backfill?: BackfillStrategy;
  checks?: CheckSpec[];
  cost?: CostRate;
  resources?: Resources;
  /** Where its tasks run by default (local when unset); a backfill's --executor overrides it. */
  executor?: ExecutorName;
  /** How its tasks are submitted when they run on Slurm (a profile's settings merged in). */
  slurm?: SlurmOptions;
}
