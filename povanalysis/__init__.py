"""povanalysis: poverty-reduction analysis for Thai Nguyen province, Vietnam."""

__version__ = "0.1.0"
