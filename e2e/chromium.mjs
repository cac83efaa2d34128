// The Chromium flags every browser test launches with: headless-friendly, software
// WebGL (SwiftShader), and no outside network: every host but 127.0.0.1 resolves to
// nothing (see ../../shared/BROWSER-TESTING.md).
export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-swiftshader', '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];
