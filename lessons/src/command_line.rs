//! Commands a learner types (and a task's solution lists): a scenario's `[[faults]]` entry on
//! one line.
