"""A job's products published: their files kept where the DataLink service finds them, their
rows written into derived.products (which ivoa.obscore shows) and derived.progenitors.

Files: <root>/<job id>/<product>.fits and .png, and documentation.txt (what was done, and the
terms of use of every collection the inputs came from: derived products carry them on). <root>
is the instance's var/<instance>/derived/ (`derived_root()` of dachs_ext/processing_core.py).
The UWS job's own copies of the results go with the job at its destruction time; these stay.
"""

import io
import os
import shutil

from datalink import parts
from ingest import staging

from . import products


def job_directory(root, job_id):
    return os.path.join(root, job_id)


def keep_files(outputs, root, job_id, documentation):
    """Copies the products' files from the analysis's outputs into the store; returns {kind
    name: path of its FITS file}."""
    directory = job_directory(root, job_id)
    os.makedirs(directory, exist_ok=True)
    fits = {}
    for kind in products.KINDS:
        for name in (kind.fits(), kind.plot()):
            shutil.copyfile(os.path.join(outputs, name), os.path.join(directory, name))
        fits[kind.name] = os.path.join(directory, kind.fits())
    with open(os.path.join(directory, products.DOCUMENTATION), "wb") as f:
        f.write(documentation)
    return fits


def file_of(root, job_id, kind, part):
    """The file of one part (datalink/parts.py: PRODUCT, PRODUCT_PLOT, PRODUCT_DOCUMENTATION)
    of a product."""
    name = {parts.PRODUCT: kind.fits(), parts.PRODUCT_PLOT: kind.plot(),
            parts.PRODUCT_DOCUMENTATION: products.DOCUMENTATION}[part]
    return os.path.join(job_directory(root, job_id), name)


def write_rows(cursor, product_rows, progenitor_rows, columns, progenitor_columns):
    """Loads the rows with COPY (the ingest's text format, ingest/staging.py): in the caller's
    transaction, so that a product and its progenitors appear together."""
    for table, rows, names in (("products", product_rows, columns),
                               ("progenitors", progenitor_rows, progenitor_columns)):
        text = staging.copy_text(rows, names)
        cursor.copy_expert(f"COPY {products.SCHEMA}.{table} ({', '.join(names)}) FROM STDIN",
                           io.StringIO(text))


def documentation(job_id, parameters, report, inputs, left_out):
    """documentation.txt: the analysis in words, then each input collection's terms of use.
    inputs: the InputDatasets analysed; left_out: [(DID, why)] of the others."""
    model = report["model"]["parameters"]
    lines = [
        f"Products of processing job {job_id}",
        "=" * (26 + len(job_id)), "",
        f"Made with gammapy {report['software']['gammapy']} from {len(inputs)} DL3 dataset(s) of"
        " this service, by the recipe of processing/gammapy_analysis.py (the README's"
        " 'Processing service').", "",
        "Parameters:",
        *(f"  {name} = {' '.join(map(str, value)) if isinstance(value, list) else value}"
          for name, value in parameters.as_dict().items() if name != "ID"),
        "", "DL3 datasets used (the #progenitor links):",
        *(f"  {d.did}" for d in inputs), "",
    ]
    if left_out:
        lines += ["Left out:", *(f"  {did}: {why}" for did, why in left_out), ""]
    lines += ["Power-law fit: index {:.4g} +- {:.2g}, amplitude {:.4g} +- {:.2g} {} at 1 TeV"
              .format(model["index"]["value"], model["index"]["error"],
                      model["amplitude"]["value"], model["amplitude"]["error"],
                      model["amplitude"]["unit"]), ""]
    text = "\n".join(lines)
    seen = []
    for dataset in inputs:
        if dataset.collection.name in seen:
            continue
        seen.append(dataset.collection.name)
        terms = parts.build_documentation(dataset.collection).decode("utf-8")
        text += f"\nThe inputs from {dataset.collection.obs_collection} come with:\n\n{terms}"
    return text.encode("utf-8")
