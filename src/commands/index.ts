/**
 * Every command, by id (topic and verb joined by ':'). oclif's "explicit" discovery reads
 * this map, so the whole CLI bundles into one file with no lookups on disk. Top-level
 * docker spellings (`tsc pull`, `tsc images`, `tsc rmi`) are aliases declared by each command.
 */
import ContainerRun from './container/run.ts';
import ContainerLogs from './container/logs.ts';
import ContainerExec from './container/exec.ts';
import ContainerTop from './container/top.ts';
import ContainerPort from './container/port.ts';
import ContainerCreate from './container/create.ts';
import ContainerStart from './container/start.ts';
import ContainerStop from './container/stop.ts';
import ContainerKill from './container/kill.ts';
import ContainerRestart from './container/restart.ts';
import ContainerRm from './container/rm.ts';
import ContainerPause from './container/pause.ts';
import ContainerUnpause from './container/unpause.ts';
import ContainerWait from './container/wait.ts';
import ContainerRename from './container/rename.ts';
import ContainerPrune from './container/prune.ts';
import ContainerLs from './container/ls.ts';
import ContainerInspect from './container/inspect.ts';
import ContainerAttach from './container/attach.ts';
import ImageHistory from './image/history.ts';
import ImageInspect from './image/inspect.ts';
import ImageLs from './image/ls.ts';
import ImagePull from './image/pull.ts';
import ImageRm from './image/rm.ts';
import ImagePrune from './image/prune.ts';
import ImagePush from './image/push.ts';
import ImageTag from './image/tag.ts';
import ImageSave from './image/save.ts';
import ImageLoad from './image/load.ts';
import ImageImport from './image/import.ts';
import ImageBuild from './image/build.ts';
import ContainerCommit from './container/commit.ts';
import ContainerDiff from './container/diff.ts';
import ContainerExport from './container/export.ts';
import Login from './login.ts';
import Logout from './logout.ts';
import Search from './search.ts';
import SystemCheck from './system/check.ts';
import Info from './info.ts';
import Inspect from './inspect.ts';
import VolumeCreate from './volume/create.ts';
import VolumeInspect from './volume/inspect.ts';
import VolumeLs from './volume/ls.ts';
import VolumePrune from './volume/prune.ts';
import VolumeRm from './volume/rm.ts';
import Version from './version.ts';

export const commands = {
  'container:run': ContainerRun,
  'container:logs': ContainerLogs,
  'container:exec': ContainerExec,
  'container:top': ContainerTop,
  'container:port': ContainerPort,
  'container:create': ContainerCreate,
  'container:start': ContainerStart,
  'container:stop': ContainerStop,
  'container:kill': ContainerKill,
  'container:restart': ContainerRestart,
  'container:rm': ContainerRm,
  'container:pause': ContainerPause,
  'container:unpause': ContainerUnpause,
  'container:wait': ContainerWait,
  'container:rename': ContainerRename,
  'container:prune': ContainerPrune,
  'container:ls': ContainerLs,
  'container:inspect': ContainerInspect,
  'container:attach': ContainerAttach,
  'image:history': ImageHistory,
  'image:inspect': ImageInspect,
  'image:ls': ImageLs,
  'image:pull': ImagePull,
  'image:prune': ImagePrune,
  'image:push': ImagePush,
  'image:rm': ImageRm,
  'image:tag': ImageTag,
  'image:save': ImageSave,
  'image:load': ImageLoad,
  'image:import': ImageImport,
  'image:build': ImageBuild,
  'container:commit': ContainerCommit,
  'container:diff': ContainerDiff,
  'container:export': ContainerExport,
  info: Info,
  inspect: Inspect,
  login: Login,
  logout: Logout,
  search: Search,
  'system:check': SystemCheck,
  version: Version,
  'volume:create': VolumeCreate,
  'volume:inspect': VolumeInspect,
  'volume:ls': VolumeLs,
  'volume:prune': VolumePrune,
  'volume:rm': VolumeRm,
};
