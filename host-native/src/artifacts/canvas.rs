//! The drawing backend of the plots: plotters' RGB bitmap backend with its
//! own text rendering.
//!
//! plotters' `ab_glyph` text path places each glyph at the pen position
//! without its left side bearing and on whole pixels, which spaces letters
//! unevenly ("TTF T"). [`Canvas`] lays text out with `ab_glyph` itself —
//! advances, kerning, bearings and sub-pixel positions — from the bundled
//! DejaVu Sans, and hands everything else to [`BitMapBackend`].
//!
//! Font sizes mean what they mean in plotters: the pixel height from the
//! font's ascender to its descender.

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle,
};
use std::sync::OnceLock;

pub(super) static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(super) static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The parsed bundled fonts: (regular, bold).
fn fonts() -> Result<&'static (FontRef<'static>, FontRef<'static>), String> {
    static FONTS: OnceLock<Result<(FontRef<'static>, FontRef<'static>), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let parse = |bytes, name| {
                FontRef::try_from_slice(bytes)
                    .map_err(|e| format!("the bundled font {name} cannot be loaded: {e}"))
            };
            Ok((
                parse(REGULAR, "DejaVuSans.ttf")?,
                parse(BOLD, "DejaVuSans-Bold.ttf")?,
            ))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Checks once that the bundled fonts parse.
pub(super) fn check_fonts() -> Result<(), String> {
    fonts().map(|_| ())
}

/// Glyphs of one line of text, positioned with the baseline at `ascent`.
struct Layout {
    glyphs: Vec<(&'static FontRef<'static>, Glyph)>,
    width: f32,
    height: f32,
}

#[derive(Debug)]
struct FontMissing(String);

impl std::fmt::Display for FontMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FontMissing {}

fn layout<S: BackendTextStyle>(text: &str, style: &S) -> Result<Layout, FontMissing> {
    let (regular, bold) = fonts().map_err(FontMissing)?;
    let font = match style.style() {
        FontStyle::Bold => bold,
        _ => regular,
    };
    let scale = PxScale::from(style.size() as f32);
    let scaled = font.as_scaled(scale);
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push((
            font,
            id.with_scale_and_position(scale, point(caret, scaled.ascent())),
        ));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    Ok(Layout {
        glyphs,
        width: caret,
        height: scaled.ascent() - scaled.descent(),
    })
}

/// An RGB bitmap that draws text with the bundled fonts.
pub(super) struct Canvas<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Canvas<'a> {
    /// A canvas over `rgb` (3 bytes a pixel, row-major).
    pub fn new(rgb: &'a mut [u8], size: (u32, u32)) -> Canvas<'a> {
        Canvas {
            inner: BitMapBackend::with_buffer(rgb, size),
        }
    }
}

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;
type DrawResult = Result<(), DrawingErrorKind<Error>>;

impl DrawingBackend for Canvas<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> DrawResult {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> DrawResult {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> DrawResult {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> DrawResult {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> DrawResult {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> DrawResult {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> DrawResult {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> DrawResult {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> DrawResult {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        let l = layout(text, style).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        Ok((l.width.ceil() as u32, l.height.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> DrawResult {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let l = layout(text, style).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -l.height / 2.0,
            VPos::Bottom => -l.height,
        };
        let (dx, dy) = (dx.round(), dy.round());
        let transform = style.transform();
        let mut result = Ok(());
        for (font, mut glyph) in l.glyphs {
            glyph.position.x += dx;
            glyph.position.y += dy;
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (ox, oy) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let (tx, ty) = transform.transform(ox + x as i32, oy + y as i32);
                result = self.inner.draw_pixel(
                    (pos.0 + tx, pos.1 + ty),
                    BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    },
                );
            });
            if result.is_err() {
                break;
            }
        }
        result
    }
}
