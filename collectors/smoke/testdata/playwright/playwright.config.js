// @ts-check
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  retries: 1,
  workers: 1,
  reporter: [['json', { outputFile: 'pw.json' }], ['junit', { outputFile: 'pw.xml' }], ['junit', { outputFile: 'pw-retries.xml', includeRetries: true }]],
  use: {
    baseURL: 'http://127.0.0.1:8765',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  projects: [{ name: 'smoke', use: { browserName: 'chromium' } }],
});
