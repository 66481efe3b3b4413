import { logMelFromFile } from '/work/wt/h11cat/src/audio/index.ts';
const t0 = process.cpuUsage();
const lm = await logMelFromFile('/work/shared/data/real_dev/Q1/MT0000082187.mp3');
const u = process.cpuUsage(t0);
console.log(lm.frames, (u.user + u.system) / 1e6, 's cpu');
