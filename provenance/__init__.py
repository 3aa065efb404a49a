"""The provenance of what this service publishes, in the IVOA Provenance Data Model (ProvDM, REC
2020): plain Python, no DaCHS (HE-OBSCORE-SPEC §9; README, "Provenance").

Every published dataset has its provenance as rows of nine tables (schemas/columns.yaml,
`prov_*`): entity, activity, agent, used, wasgeneratedby, wasassociatedwith, wasattributedto,
wasderivedfrom, parameter. Each row belongs to one dataset (its obs_publisher_did): a dataset's
rows tell its whole story on their own (its provenance document is made from them), and they go
when it goes. The rows live in the dataset's collection schema (<schema>.prov_<table>); TAP sees
them through the views provenance.<table> (ProvTAP), which list what several datasets share (an
agent, the job that made several products) once.

- records.py: Records, the rows of one dataset, and the identifiers of entities, activities and
  agents;
- dl3.py: the rows of a DL3 dataset the ingest publishes, from what its files say;
- derived.py: the rows of a product made from DL3 datasets (a processing job's result): the API
  the processing service calls;
- database.py: writing (COPY), deleting and reading the rows with a DB-API cursor;
- documents.py: a dataset's rows as a W3C PROV document (PROV-JSON, PROV-XML, PROV-N, and a PNG
  graph), written by the `prov` library.
"""
