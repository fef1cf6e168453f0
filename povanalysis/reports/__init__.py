"""Reports: commune report sections, HTML, the index, the warm-kernel engine and the batch."""
