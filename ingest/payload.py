"""The size of the event-list file the service delivers as an observation's #this (access_estsize).

That file is a new FITS file: an empty primary HDU plus the EVENTS, GTI (and POINTING, if present) HDUs
copied as they are, uncompressed. Its size is therefore 2880 bytes plus, for each copied HDU, the header
blocks and the data padded to 2880 bytes as they are in the source file. The hdu-index SIZE column is
only a hint (and is often missing), so the sizes are taken from the files themselves.
"""

import math

BLOCK = 2880
PRIMARY_HDU_BYTES = BLOCK  # SIMPLE, BITPIX, NAXIS, EXTEND, END: one header block, no data


def hdu_bytes(located_hdu, fits_files):
    """Bytes an HDU takes in its (uncompressed) file: header blocks plus padded data. The HDU's own
    fileinfo(): the HDUList's first checks whether the HDU was resized by serialising its header,
    a tenth of the time of reading an observation, and the ingest never changes an HDU."""
    info = located_hdu.hdu.fileinfo()
    if info is None:  # not read from a file (an HDU built in memory)
        hdulist = fits_files.get(located_hdu.path)
        info = hdulist.fileinfo(hdulist.index_of(located_hdu.hdu))
    header_bytes = info["datLoc"] - info["hdrLoc"]
    return header_bytes + _padded(info["datSpan"])


def _padded(size):
    return int(math.ceil(size / BLOCK)) * BLOCK


def event_list_kbytes(located_hdus, fits_files):
    """access_estsize in kB (1024 bytes, rounded up) of the event-list file built from these HDUs."""
    total = PRIMARY_HDU_BYTES + sum(hdu_bytes(hdu, fits_files) for hdu in located_hdus)
    return int(math.ceil(total / 1024))
