const { test, expect } = require('@playwright/test');

test.describe('checkout', () => {
  test('checkout pays with card', async ({ page }) => {
    await page.goto('/checkout.html');
    await expect(page.locator('#total')).toHaveText('Total: 25.00', { timeout: 1000 });
  });

  test('checkout applies coupon', async ({ page }) => {
    test.skip(true, 'coupons are disabled in this environment');
    await page.goto('/checkout.html');
  });

  test.describe('wallet', () => {
    test('wallet page opens', async ({ page }) => {
      const resp = await page.goto('/checkout.html');
      expect(resp.ok()).toBeTruthy();
    });
  });
});
