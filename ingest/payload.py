"""The size of the event-list file the service delivers as an observation's #this (access_estsize).

That file is a new FITS file: an empty primary HDU plus the EVENTS, GTI (and POINTING, if present) HDUs
copied as they are, uncompressed. Its size is therefore 2880 bytes plus, for each copied HDU, the header
blocks and the data padded to 2880 bytes as they are in the source file. The hdu-index SIZE column is
only a hint (and is often missing), so the sizes are taken from the files themselves.
"""

import math

BLOCK = 2880
PRIMARY_HDU_BYTES = BLOCK  # SIMPLE, BITPIX, NAXIS, EXTEND, END: one header block, no data


def event_list_kbytes(located_hdus):
    """access_estsize in kB (1024 bytes, rounded up) of the event-list file built from these HDUs
    (ingest LocatedHdus)."""
    total = PRIMARY_HDU_BYTES + sum(hdu.file_bytes for hdu in located_hdus)
    return int(math.ceil(total / 1024))
