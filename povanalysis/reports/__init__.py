"""Reports: the prepared tables and the commune report sections, HTML, the index, the warm-kernel engine and the batch."""
