"""Synthetic CTAO-like GADF DL3 collections, deterministic for a seed: benchmark and test data.

    import synth
    summary = synth.generate("var/synth/1000-1", n=1000, seed=1)   # or: python3 -m synth --help
    print(summary.observations, summary.events, summary.hdu_index)

What a collection holds (OUT is the output directory):
- OUT/hdu-index.fits.gz, OUT/obs-index.fits.gz: the GADF indexes (HDUCLAS1 INDEX);
- OUT/data/YYYY/MM/obs_NNNNNNN.fits: one event file per observation (primary, EVENTS, GTI), 50-500
  events, GADF headers; not written in metadata-only mode, where the indexes still list them;
- OUT/caldb/irf_<Site>_z<zenith>.fits: shared full-enclosure IRFs (AEFF_2D, EDISP_2D, PSF_TABLE,
  BKG_3D), one file per site and zenith bin (20, 40, 60 deg), reached from the hdu-index by FILE_DIR;
- OUT/synth-manifest.json: the parameters and counts; a rerun with the same parameters does nothing.

Observations come from CTAO North (La Palma) and South (Paranal), at night, pointing at most 60 deg from
the zenith, between MJD 61000 and 72000 (~30 years), 20-30 min long (schedule.py says how). The same
(n, seed, metadata_only, sites) always gives byte-identical files: every random number comes from a
numpy Generator seeded by the seed, and no clock date is written.

Modules: sites (the arrays), sky (geometry, target catalogue), schedule (every observation's metadata,
vectorised), events (event files), irfs (IRF files), indexes (index tables), fitsbytes (the FITS
writer), collection (generate and the manifest).
"""

from .collection import FORMAT_VERSION, MANIFEST, Summary, SynthError, generate

__all__ = ["FORMAT_VERSION", "MANIFEST", "Summary", "SynthError", "generate"]
