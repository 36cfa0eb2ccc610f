CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount NUMERIC, placed_at DATE);
INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Linus');
INSERT INTO orders VALUES (1, 1, 120.50, '2024-02-01'), (2, 1, 80, '2024-06-11'), (3, 2, 300, '2023-12-30'), (4, 2, 45, '2024-01-05');
