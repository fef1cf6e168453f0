"""The impact of VBSP credit: estimators, staggered difference-in-differences, their simulation study."""
