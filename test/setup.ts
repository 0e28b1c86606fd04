// aws-local-stepfunctions 3 targets Node 22 and calls Promise.withResolvers; Node 20 lacks it.
import '../local/polyfills';

// The AWS SDK's notice that releases after January 2027 need Node 22 (see the README), once per worker otherwise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
