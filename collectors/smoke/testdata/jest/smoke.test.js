// A tiny smoke suite for gatekeeper's testdata: pass, fail, skip, error thrown.
describe('home', () => {
  test('homepage loads with 200', () => {
    expect(200).toBe(200);
  });
  test.skip('wishlist syncs', () => {});
});

describe('checkout', () => {
  test('checkout pays with card', () => {
    expect(19.99 + 5).toBe(25);
  });
  test('checkout applies coupon', () => {
    throw new TypeError('coupon service returned undefined');
  });
});
