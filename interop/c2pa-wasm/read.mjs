// read.mjs: ask c2pa-rs (the reference C2PA implementation, compiled to WebAssembly in the npm
// package @contentauth/c2pa-wasm) for its verdict on one or more files, and print one JSON line
// per file. ailabel's Go tests use it to compare their own verifier with c2pa-rs.
//
// Usage: node read.mjs [--trust CA.pem] [--format MIME] [--] FILE...
//
// Each output line: {"file", "format", "exit", "state", "failures", "successes", "informational",
// "active_manifest", "digital_source_type", "error"}. "exit" per file, and the process exit (the
// largest of them):
//   0  a manifest store was read and c2pa-rs says Valid or Trusted
//   1  the manifest is invalid, or c2pa-rs refused to load the manifest store
//   2  usage error, unreadable file, unknown or unsupported format
//   3  the file has no C2PA manifest

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXIT_VALID = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;
const EXIT_NO_MANIFEST = 3;

// A manifest whose only failures are these is still valid: the signer is just not on a trust
// list (c2pa-rs' own validation_state rule; cawg.x509.* are identity-assertion trust codes).
function toleratedFailure(code) {
  return code === 'signingCredential.untrusted' || code.startsWith('cawg.x509.');
}

// ---------------------------------------------------------------------------------------------
// Media type from the first bytes of the file.

const BY_EXTENSION = new Map(Object.entries({
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif',
  '.webp': 'image/webp', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.dng': 'image/dng',
  '.heic': 'image/heic', '.heif': 'image/heif', '.avif': 'image/avif', '.jxl': 'image/jxl',
  '.svg': 'image/svg+xml', '.pdf': 'application/pdf', '.mp4': 'video/mp4', '.m4v': 'video/mp4',
  '.mov': 'video/quicktime', '.m4a': 'audio/mp4', '.mp3': 'audio/mpeg', '.flac': 'audio/flac',
  '.wav': 'audio/wav', '.avi': 'video/avi', '.c2pa': 'application/c2pa',
}));

const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const AUDIO_MP4_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ']);

function latin1(buf, start, end) {
  return buf.toString('latin1', Math.min(start, buf.length), Math.min(end, buf.length));
}

// ISO BMFF: the ftyp box's major brand, then its compatible brands, decide.
function bmffType(buf) {
  const boxSize = buf.readUInt32BE(0);
  const major = latin1(buf, 8, 12);
  const brands = [major];
  const end = Math.min(buf.length, boxSize >= 16 ? boxSize : 16, 16 + 4 * 64); // at most 64 brands
  for (let off = 16; off + 4 <= end; off += 4) brands.push(latin1(buf, off, off + 4));
  const has = (set) => brands.some((b) => set.has(b));
  if (major === 'qt  ') return 'video/quicktime';
  if (AUDIO_MP4_BRANDS.has(major)) return 'audio/mp4';
  if (AVIF_BRANDS.has(major)) return 'image/avif';
  if (HEIC_BRANDS.has(major)) return 'image/heic';
  if (major === 'mif1' || major === 'msf1') {
    if (has(AVIF_BRANDS)) return 'image/avif';
    if (has(HEIC_BRANDS)) return 'image/heic';
    return 'image/heif';
  }
  return 'video/mp4';
}

// Size of an ID3v2 tag that starts the buffer (header + body + optional footer), or 0.
function id3Length(buf) {
  if (buf.length < 10 || latin1(buf, 0, 3) !== 'ID3') return 0;
  let body = 0;
  for (let i = 6; i < 10; i++) body = body * 128 + (buf[i] & 0x7f);
  return 10 + body + (buf[5] & 0x10 ? 10 : 0);
}

function sniff(buf) {
  const at = (off, s) => latin1(buf, off, off + s.length) === s;
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'image/jpeg';
  if (at(0, '\x89PNG\r\n\x1a\n')) return 'image/png';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'image/gif';
  if (at(0, 'RIFF') && buf.length >= 12) {
    const form = latin1(buf, 8, 12);
    if (form === 'WEBP') return 'image/webp';
    if (form === 'WAVE') return 'audio/wav';
    if (form === 'AVI ') return 'video/avi';
    return null;
  }
  if (at(0, 'II*\0') || at(0, 'MM\0*') || at(0, 'II+\0') || at(0, 'MM\0+')) return 'image/tiff';
  if (at(0, '\0\0\0\x0cJXL \r\n\x87\n')) return 'image/jxl';
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0x0a) return 'image/jxl';
  if (buf.length >= 12 && at(4, 'ftyp')) return bmffType(buf);
  if (buf.length >= 8 && at(4, 'jumb')) return 'application/c2pa';
  if (at(0, '%PDF-')) return 'application/pdf';
  if (at(0, 'fLaC')) return 'audio/flac';
  const tag = id3Length(buf);
  if (tag > 0) {
    // c2pa-rs keeps the manifest of FLAC files in a leading ID3v2 tag too.
    return at(tag, 'fLaC') ? 'audio/flac' : 'audio/mpeg';
  }
  if (buf.length >= 2 && buf[0] === 0xff && (buf[1] & 0xe0) === 0xe0) return 'audio/mpeg';
  if (looksLikeSvg(buf)) return 'image/svg+xml';
  return null;
}

function looksLikeSvg(buf) {
  let text = buf.toString('utf8', 0, Math.min(buf.length, 4096));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.trimStart();
  // Skip the XML declaration, comments, processing instructions and a DOCTYPE before the root.
  for (;;) {
    const m = /^(<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)\s*/i.exec(text);
    if (!m) break;
    text = text.slice(m[0].length);
  }
  return /^<(\w+:)?svg[\s>/]/.test(text);
}

// ---------------------------------------------------------------------------------------------
// c2pa-rs

async function loadC2pa() {
  const c2pa = await import('@contentauth/c2pa-wasm');
  const wasm = readFileSync(fileURLToPath(import.meta.resolve('@contentauth/c2pa-wasm/c2pa.wasm')));
  c2pa.initSync({ module: wasm });
  return c2pa;
}

// c2pa-rs errors reach JavaScript as text such as "C2pa(JumbfNotFound)": the variant name decides.
function errorExit(message) {
  const variant = /^C2pa\((\w+)/.exec(message)?.[1];
  if (variant === 'JumbfNotFound' || variant === 'ProvenanceMissing') return EXIT_NO_MANIFEST;
  if (!variant || variant === 'UnsupportedType' || variant === 'BadParam') return EXIT_USAGE;
  return EXIT_INVALID;
}

function codes(list) {
  return Array.isArray(list) ? list.map((s) => s?.code).filter((c) => typeof c === 'string') : [];
}

function firstDigitalSourceType(manifest) {
  for (const assertion of manifest?.assertions ?? []) {
    if (typeof assertion?.label !== 'string' || !assertion.label.startsWith('c2pa.actions')) continue;
    for (const action of assertion.data?.actions ?? []) {
      const dst = action?.digitalSourceType ?? action?.parameters?.digitalSourceType;
      if (typeof dst === 'string') return dst;
    }
  }
  return null;
}

function verdictOfStore(store) {
  const results = store.validation_results?.activeManifest;
  const failures = results ? codes(results.failure) : codes(store.validation_status);
  const state = typeof store.validation_state === 'string' ? store.validation_state : null;
  const ok = (state === 'Valid' || state === 'Trusted') && failures.every(toleratedFailure);
  const active = typeof store.active_manifest === 'string' ? store.active_manifest : null;
  return {
    exit: ok ? EXIT_VALID : EXIT_INVALID,
    state,
    failures,
    successes: results ? codes(results.success) : [],
    informational: results ? codes(results.informational) : [],
    active_manifest: active,
    digital_source_type: firstDigitalSourceType(active ? store.manifests?.[active] : null),
  };
}

async function readOne(c2pa, settings, file, formatOverride) {
  const out = {
    file, format: null, exit: EXIT_USAGE, state: null, failures: [], successes: [],
    informational: [], active_manifest: null, digital_source_type: null, error: null,
  };
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    out.error = `cannot read ${file}: ${e.message}`;
    return out;
  }
  out.format = formatOverride ?? sniff(bytes) ?? BY_EXTENSION.get(extname(file).toLowerCase()) ?? null;
  if (!out.format) {
    out.error = 'unknown format';
    return out;
  }
  let reader;
  try {
    reader = await c2pa.WasmReader.fromBytes(out.format, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), settings);
  } catch (e) {
    out.error = typeof e === 'string' ? e : e?.message ?? String(e);
    out.exit = errorExit(out.error);
    return out;
  }
  try {
    Object.assign(out, verdictOfStore(JSON.parse(reader.json())));
  } catch (e) {
    out.error = `reading the manifest store: ${e?.message ?? e}`;
    out.exit = EXIT_USAGE;
  } finally {
    reader.free();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function usage(msg) {
  process.stderr.write(`read.mjs: ${msg}\nusage: node read.mjs [--trust CA.pem] [--format MIME] [--] FILE...\n`);
  process.exit(EXIT_USAGE);
}

async function main(argv) {
  const files = [];
  let trust = null;
  let format = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      files.push(...argv.slice(i + 1));
      break;
    }
    if (a === '--trust' || a === '--format') {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      if (a === '--trust') trust = argv[++i];
      else format = argv[++i];
    } else if (a.startsWith('--trust=')) trust = a.slice(8);
    else if (a.startsWith('--format=')) format = a.slice(9);
    else if (a === '-h' || a === '--help') usage('help');
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else files.push(a);
  }
  if (files.length === 0) usage('no FILE given');

  const settings = { verify: { verify_trust: true, remote_manifest_fetch: false, ocsp_fetch: false } };
  if (trust !== null) {
    let pem;
    try {
      pem = readFileSync(trust, 'utf8');
    } catch (e) {
      usage(`cannot read --trust ${trust}: ${e.message}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) usage(`--trust ${trust}: no PEM certificate in it`);
    settings.trust = { trust_anchors: pem };
  }

  const c2pa = await loadC2pa();
  const settingsJson = JSON.stringify(settings);
  let worst = EXIT_VALID;
  for (const file of files) {
    const v = await readOne(c2pa, settingsJson, file, format);
    process.stdout.write(JSON.stringify(v) + '\n');
    worst = Math.max(worst, v.exit);
  }
  return worst;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`read.mjs: ${e?.stack ?? e}\n`);
  process.exitCode = EXIT_USAGE;
}
