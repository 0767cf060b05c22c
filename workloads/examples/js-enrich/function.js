// SPDX-License-Identifier: Apache-2.0
// SenML normaliser as a JavaScript component (jco componentize). Input: SenML. Output: the same
// readings resolved (base name/time applied), temperatures converted to Celsius (degF and K),
// tagged with the device's SITE, and numbered with a per-device sequence kept in state:
//   {"site":"plant-1","seq":42,"records":[{"n":"dev1/temperature","u":"Cel","v":21.5,"t":1700000000}]}
import { config, handler, json, loadState, logger, output, saveState } from '../../sdk/js/wasmfleet.js';

const TO_CELSIUS = {
  Cel: (v) => v,
  degF: (v) => ((v - 32) * 5) / 9,
  K: (v) => v - 273.15,
};

export const handle = handler((input) => {
  const pack = json(input);
  if (!Array.isArray(pack)) throw new Error('SenML payload must be a JSON array of records');
  let bn = '';
  let bt = 0;
  let bu;
  const records = [];
  for (const rec of pack) {
    if (typeof rec.bn === 'string') bn = rec.bn;
    if (typeof rec.bt === 'number') bt = rec.bt;
    if (typeof rec.bu === 'string') bu = rec.bu;
    if (typeof rec.v !== 'number') continue;
    const unit = rec.u ?? bu;
    const convert = unit === undefined ? undefined : TO_CELSIUS[unit];
    const out = { n: bn + (rec.n ?? ''), t: bt + (rec.t ?? 0) };
    if (convert) Object.assign(out, { u: 'Cel', v: Math.round(convert(rec.v) * 1000) / 1000 });
    else Object.assign(out, { u: unit, v: rec.v });
    records.push(out);
  }
  if (records.length === 0) {
    logger.debug(`no numeric readings on ${input.topic}`);
    return [];
  }
  const seq = (loadState('seq') ?? 0) + 1;
  saveState('seq', seq);
  return output('', { site: config('SITE', 'unknown'), seq, records });
});
