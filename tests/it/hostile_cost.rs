//! Hostile input and faults, round two: inputs whose cost would grow faster than their size: deep nesting in HTML, quotes and YAML, thousands of terms, huge posts; and values of the wrong shape.
