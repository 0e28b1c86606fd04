import { describe, expect, it } from '@jest/globals';
import { placeInputPath } from '../../../lambdas/sdk/converter';

describe('folder mapping of input entries', () => {
  it.each([
    ['Maps.xcframework/ios-arm64/Maps.framework/Maps', 'frameworks/Maps.xcframework/ios-arm64/Maps.framework/Maps'],
    ['build/ios/Maps.framework/Headers/Maps.h', 'frameworks/Maps.framework/Headers/Maps.h'],
    ['lib/Maps.xcframework/Info.plist', 'frameworks/Maps.xcframework/Info.plist'],
    ['samples/Demo/Frameworks/Other.framework/Other', 'samples/Demo/Frameworks/Other.framework/Other'],
    ['Examples/Demo/main.swift', 'samples/Demo/main.swift'],
    ['Documentation/guide.pdf', 'docs/guide.pdf'],
    ['LICENSE', 'LICENSE'],
    ['licence.md', 'LICENSE'],
    ['COPYING.txt', 'LICENSE'],
    ['CHANGES', 'CHANGELOG.md'],
    ['History.md', 'CHANGELOG.md'],
    ['vendor/LICENSE', 'resources/vendor/LICENSE'],
    ['libs/arm64/libmaps.a', 'lib/arm64/libmaps.a'],
    ['Headers/Maps.h', 'include/Maps.h'],
    ['assets/logo.png', 'resources/logo.png'],
    ['build/libmaps.so.1.2', 'lib/build/libmaps.so.1.2'],
    ['jni/arm64-v8a/libmaps.so', 'lib/jni/arm64-v8a/libmaps.so'],
    ['src/maps.hpp', 'include/src/maps.hpp'],
    ['README.md', 'docs/README.md'],
    ['fonts/Roboto.ttf', 'resources/fonts/Roboto.ttf'],
    ['maps.modulemap', 'include/maps.modulemap'],
  ])('%s -> %s', (input, output) => {
    expect(placeInputPath(input)).toBe(output);
  });
});
