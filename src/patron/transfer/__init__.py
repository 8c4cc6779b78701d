"""Moving customers in and out of an org: the file formats, the batch import, the export."""
