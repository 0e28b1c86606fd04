// aws-local-stepfunctions 3 targets Node 22 and calls Promise.withResolvers; Node 20 lacks it.
import '../local/polyfills';
