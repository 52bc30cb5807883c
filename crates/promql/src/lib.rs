//! PromQL: parser, AST and the step-evaluation core (work in progress).
